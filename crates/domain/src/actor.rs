//! Who is acting: the role from the caller's token and the party id.
//!
//! The domain trusts the actor it is given (authentication is the API's job) and uses it for two
//! things: the role decides which actions may ever be taken (403) and the id decides whose return
//! it is (a buyer or seller acting on someone else's return is told it does not exist: 404).

use serde::{Deserialize, Serialize};

use crate::macros::string_enum;

string_enum! {
    /// The roles of docs/api.md plus `system`, the service's own deadline scheduler.
    pub enum Role ("role") {
        Buyer = "buyer",
        Seller = "seller",
        Operator = "operator",
        Platform = "platform",
        /// The service itself, applying deadlines. Never carried by a token.
        System = "system",
    }
}

/// The caller of a command: a role and the party's id (a token's `sub`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    pub role: Role,
    pub id: String,
}

impl Actor {
    pub fn new(role: Role, id: impl Into<String>) -> Self {
        Self {
            role,
            id: id.into(),
        }
    }

    pub fn buyer(id: impl Into<String>) -> Self {
        Self::new(Role::Buyer, id)
    }

    pub fn seller(id: impl Into<String>) -> Self {
        Self::new(Role::Seller, id)
    }

    pub fn operator(id: impl Into<String>) -> Self {
        Self::new(Role::Operator, id)
    }

    pub fn platform(id: impl Into<String>) -> Self {
        Self::new(Role::Platform, id)
    }

    /// The deadline scheduler.
    pub fn system() -> Self {
        Self::new(Role::System, "scheduler")
    }
}
