//! The closed vocabularies of the return case: statuses, outcomes, actions and the values of
//! commands and events. Their strings are docs/api.md's.

use serde::{Deserialize, Serialize};

use crate::macros::string_enum;
use crate::money::MinorUnits;

string_enum! {
    /// Where a return stands (docs/api.md).
    pub enum Status ("status") {
        Requested = "requested",
        OfferPending = "offer_pending",
        Authorized = "authorized",
        InTransit = "in_transit",
        Delivered = "delivered",
        Declined = "declined",
        RefundPending = "refund_pending",
        Escalated = "escalated",
        Closed = "closed",
        /// An exchange goes ahead: the seller is to ship the replacement.
        ExchangePending = "exchange_pending",
        /// The replacement is on its way to the buyer.
        ReplacementShipped = "replacement_shipped",
    }
}

string_enum! {
    /// How a closed return ended (docs/api.md).
    pub enum Outcome ("outcome") {
        Refunded = "refunded",
        PartiallyRefunded = "partially_refunded",
        Exchanged = "exchanged",
        Denied = "denied",
        Withdrawn = "withdrawn",
        Lapsed = "lapsed",
    }
}

impl Outcome {
    /// Outcomes without a refund: the items go back to the order's pool.
    pub const fn releases_items(self) -> bool {
        matches!(
            self,
            Outcome::Exchanged | Outcome::Denied | Outcome::Withdrawn | Outcome::Lapsed
        )
    }
}

string_enum! {
    /// The actions of docs/api.md's action table (`POST /v1/returns/{id}/<action>`), plus `open`
    /// (`POST /v1/returns`) and `apply-deadline` (the scheduler).
    pub enum Action ("action") {
        Open = "open",
        Accept = "accept",
        Decline = "decline",
        Offer = "offer",
        AcceptOffer = "accept-offer",
        DeclineOffer = "decline-offer",
        Ship = "ship",
        CarrierUpdate = "carrier-update",
        Receive = "receive",
        Inspect = "inspect",
        Refund = "refund",
        Escalate = "escalate",
        Withdraw = "withdraw",
        Messages = "messages",
        Evidence = "evidence",
        GrantException = "grant-exception",
        Assign = "assign",
        Decide = "decide",
        Rate = "rate",
        ChooseMethod = "choose-method",
        ShipReplacement = "ship-replacement",
        OutOfStock = "out-of-stock",
        Appeal = "appeal",
        ApplyDeadline = "apply-deadline",
    }
}

impl Action {
    /// The actions reported in a return view's `allowed_actions`, in docs/api.md's order.
    pub const ON_A_RETURN: [Action; 22] = [
        Action::Accept,
        Action::Decline,
        Action::Offer,
        Action::AcceptOffer,
        Action::DeclineOffer,
        Action::Ship,
        Action::CarrierUpdate,
        Action::Receive,
        Action::Inspect,
        Action::Refund,
        Action::Escalate,
        Action::Withdraw,
        Action::Messages,
        Action::Evidence,
        Action::GrantException,
        Action::Assign,
        Action::Decide,
        Action::Rate,
        Action::ChooseMethod,
        Action::ShipReplacement,
        Action::OutOfStock,
        Action::Appeal,
    ];
}

string_enum! {
    pub enum OfferKind ("kind") {
        PartialRefund = "partial_refund",
        Exchange = "exchange",
        StoreCredit = "store_credit",
    }
}

string_enum! {
    /// How a refund is paid (the `method` of `refund`).
    pub enum PayoutMethod ("method") {
        OriginalPayment = "original_payment",
        StoreCredit = "store_credit",
    }
}

string_enum! {
    pub enum CarrierStatus ("status") {
        InTransit = "in_transit",
        Delivered = "delivered",
        /// The parcel was left at a relay point (or a carrier's counter).
        DroppedOff = "dropped_off",
        /// The carrier collected the parcel at the buyer's.
        PickedUp = "picked_up",
        /// A delay or a problem on the way (address, customs, damage); the parcel still moves.
        Exception = "exception",
        /// The carrier lost the parcel.
        Lost = "lost",
        /// The carrier brought the parcel back to the buyer.
        ReturnedToSender = "returned_to_sender",
    }
}

string_enum! {
    /// The policy rules a seller or operator may waive as goodwill.
    pub enum ExceptionRule ("rule") {
        ReturnWindow = "return_window",
        NonReturnableCategory = "non_returnable_category",
        ShipBy = "ship_by",
        RestockingFee = "restocking_fee",
    }
}

string_enum! {
    pub enum DecisionOutcome ("outcome") {
        RefundBuyer = "refund_buyer",
        SideWithSeller = "side_with_seller",
    }
}

string_enum! {
    pub enum FundedBy ("funded_by") {
        Seller = "seller",
        Platform = "platform",
    }
}

string_enum! {
    /// The deadlines a return can have running (names as in the view's `deadlines`).
    pub enum DeadlineKind ("kind") {
        SellerResponseDue = "seller_response_due",
        ShipBy = "ship_by",
        InspectBy = "inspect_by",
        RefundDue = "refund_due",
        DecisionDue = "decision_due",
        OfferExpires = "offer_expires",
        EscalateBy = "escalate_by",
        /// The item is to be left at the relay point or the store by then.
        DropOffBy = "drop_off_by",
        /// The end of the booked pickup slot.
        PickupBy = "pickup_by",
        /// The seller is to ship the replacement of an exchange by then.
        ReplacementShipBy = "replacement_ship_by",
    }
}

string_enum! {
    /// Who or what authorised the item's return shipment.
    pub enum ApprovalSource ("source") {
        /// Automatic approval at opening (low value, eligible, buyer not flagged).
        Auto = "auto",
        Seller = "seller",
        /// The seller did not answer in time and its policy says `auto_accept`.
        SellerTimeout = "seller_timeout",
        /// The buyer accepted an exchange offer.
        Offer = "offer",
        /// An operator decided a refund on the item's return.
        Decision = "decision",
    }
}

string_enum! {
    /// How a new request was (or would be) handled at opening.
    pub enum Intake ("intake") {
        /// Refunded at once; the buyer keeps the item.
        Returnless = "returnless",
        /// Authorised for shipping at once.
        AutoApproved = "auto_approved",
        /// Left to the seller to answer.
        ToSeller = "to_seller",
    }
}

string_enum! {
    /// Why a refund fell due.
    pub enum RefundBasis ("basis") {
        AutoReturnless = "auto_returnless",
        SellerReturnless = "seller_returnless",
        OfferPartialRefund = "offer_partial_refund",
        OfferStoreCredit = "offer_store_credit",
        Inspection = "inspection",
        /// The seller did not inspect in time: the requested amount falls due.
        InspectionDeadline = "inspection_deadline",
        Decision = "decision",
        /// The exchange could not go ahead (out of stock, or the replacement not shipped in time):
        /// the requested amount is refunded instead.
        ExchangeFailed = "exchange_failed",
    }
}

string_enum! {
    /// Why an exchange fell back to a refund.
    pub enum ExchangeFailure ("cause") {
        /// The seller reported the replacement out of stock.
        OutOfStock = "out_of_stock",
        /// The seller did not ship the replacement by `replacement_ship_by`.
        NotShippedInTime = "not_shipped_in_time",
    }
}

string_enum! {
    /// Who or what escalated a return.
    pub enum EscalationTrigger ("trigger") {
        Buyer = "buyer",
        Seller = "seller",
        SellerResponseTimeout = "seller_response_timeout",
        RefundOverdue = "refund_overdue",
        /// The carrier lost the return parcel.
        ParcelLost = "parcel_lost",
    }
}

string_enum! {
    /// When the seller said no: answering the request, or at inspection (refund 0).
    pub enum DeclineStage ("stage") {
        Response = "response",
        Inspection = "inspection",
    }
}

string_enum! {
    /// Who reported the item's arrival at the seller.
    pub enum ArrivalSource ("source") {
        Carrier = "carrier",
        Seller = "seller",
    }
}

string_enum! {
    pub enum OfferStatus ("offer status") {
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
        Expired = "expired",
    }
}

/// What happens when the returned item reaches the seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OnArrival {
    /// The seller inspects and grades it; the grade drives a refund or a refusal.
    Inspect,
    /// The seller inspects it and sends a replacement (or repairs it): the return ends `exchanged`.
    Exchange,
    /// An operator already decided the refund: it falls due on arrival, without inspection.
    Refund {
        amount_minor: MinorUnits,
        funded_by: FundedBy,
    },
}
