//! The simulated marketplace, drawn up front from the seed: sellers with their category, size,
//! return policy and habits; buyers with their country and habits; the abusers planted among them;
//! and every order with the return it will lead to, if any, and the truth about that return (is
//! the claim true, what will the seller find in the parcel).
//!
//! Nothing here does I/O or reads a clock: days are counted from the first simulated day, and the
//! engine turns them into service time as it plays the plan through the command layer.

use std::fmt;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use returns_arbitration::abuse::{FlagKind, PartyRole};
use returns_domain::order::{ItemRequest, OrderLine};
use returns_domain::policy::{OnSellerTimeout, RefundMethod};
use returns_domain::{
    BuyerId, Category, Currency, Grade, Jurisdiction, LineId, MinorUnits, OrderId, Reason,
    Resolution, SellerId, SellerPolicy, Sku,
};

use crate::{SimConfig, SimError};

/// The kinds of abuser planted, each matching one signal of `returns_arbitration::abuse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AbuseKind {
    /// Buyer: returns most of what they buy.
    SerialReturner,
    /// Buyer: wears apparel and returns it as changed-mind or size in the last days of the
    /// window; it comes back `used`.
    Wardrobing,
    /// Buyer: sends back an empty box or another item and claims the refund.
    EmptyBox,
    /// Buyer: claims `not_received` for parcels the carrier delivered.
    RepeatedNotReceived,
    /// Buyer: makes weak not-as-described or defective claims and escalates every refusal.
    DisputesLost,
    /// Seller: sells goods that are often not as described or defective.
    SellerNotAsDescribed,
    /// Seller: refuses returned items at inspection whatever their state; operators overturn it.
    SellerRefusesAtInspection,
    /// Seller: lets response and inspection deadlines pass.
    SellerMissesDeadlines,
    /// Seller: declines most return requests, founded or not.
    SellerDeclinesMost,
}

impl AbuseKind {
    pub const BUYER: [AbuseKind; 5] = [
        AbuseKind::SerialReturner,
        AbuseKind::Wardrobing,
        AbuseKind::EmptyBox,
        AbuseKind::RepeatedNotReceived,
        AbuseKind::DisputesLost,
    ];

    pub const SELLER: [AbuseKind; 4] = [
        AbuseKind::SellerNotAsDescribed,
        AbuseKind::SellerRefusesAtInspection,
        AbuseKind::SellerMissesDeadlines,
        AbuseKind::SellerDeclinesMost,
    ];

    pub const ALL: [AbuseKind; 9] = [
        AbuseKind::SerialReturner,
        AbuseKind::Wardrobing,
        AbuseKind::EmptyBox,
        AbuseKind::RepeatedNotReceived,
        AbuseKind::DisputesLost,
        AbuseKind::SellerNotAsDescribed,
        AbuseKind::SellerRefusesAtInspection,
        AbuseKind::SellerMissesDeadlines,
        AbuseKind::SellerDeclinesMost,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AbuseKind::SerialReturner => "serial_returner",
            AbuseKind::Wardrobing => "wardrobing",
            AbuseKind::EmptyBox => "empty_box",
            AbuseKind::RepeatedNotReceived => "repeated_not_received",
            AbuseKind::DisputesLost => "disputes_lost",
            AbuseKind::SellerNotAsDescribed => "seller_not_as_described",
            AbuseKind::SellerRefusesAtInspection => "seller_refuses_at_inspection",
            AbuseKind::SellerMissesDeadlines => "seller_misses_deadlines",
            AbuseKind::SellerDeclinesMost => "seller_declines_most",
        }
    }

    pub const fn role(self) -> PartyRole {
        match self {
            AbuseKind::SerialReturner
            | AbuseKind::Wardrobing
            | AbuseKind::EmptyBox
            | AbuseKind::RepeatedNotReceived
            | AbuseKind::DisputesLost => PartyRole::Buyer,
            AbuseKind::SellerNotAsDescribed
            | AbuseKind::SellerRefusesAtInspection
            | AbuseKind::SellerMissesDeadlines
            | AbuseKind::SellerDeclinesMost => PartyRole::Seller,
        }
    }

    /// The flag that detection should raise for this kind of abuser.
    pub const fn expected_flag(self) -> FlagKind {
        match self {
            AbuseKind::SerialReturner => FlagKind::SerialReturner,
            AbuseKind::Wardrobing => FlagKind::Wardrobing,
            AbuseKind::EmptyBox => FlagKind::EmptyBoxReturns,
            AbuseKind::RepeatedNotReceived => FlagKind::RepeatedNotReceived,
            AbuseKind::DisputesLost => FlagKind::DisputesLost,
            AbuseKind::SellerNotAsDescribed => FlagKind::SellerNotAsDescribedRate,
            AbuseKind::SellerRefusesAtInspection => FlagKind::SellerRefusalsOverturned,
            AbuseKind::SellerMissesDeadlines => FlagKind::SellerMissedDeadlines,
            AbuseKind::SellerDeclinesMost => FlagKind::SellerDeclineRate,
        }
    }
}

impl fmt::Display for AbuseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A product category of the marketplace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CategorySpec {
    pub name: &'static str,
    /// Unit prices in minor units.
    pub min_price: i64,
    pub max_price: i64,
    /// Sold in sizes: size returns and wardrobing happen here.
    pub sized: bool,
    /// How much more (or less) than average its buyers return.
    pub return_factor: f64,
    /// Share of sellers with this main category.
    pub weight: u32,
    pub products: &'static [&'static str],
}

pub(crate) const CATEGORIES: [CategorySpec; 8] = [
    CategorySpec {
        name: "apparel",
        min_price: 1200,
        max_price: 9000,
        sized: true,
        return_factor: 1.5,
        weight: 25,
        products: &["T-shirt", "Jeans", "Dress", "Jacket", "Sweater", "Skirt"],
    },
    CategorySpec {
        name: "shoes",
        min_price: 3500,
        max_price: 16000,
        sized: true,
        return_factor: 1.4,
        weight: 10,
        products: &["Sneakers", "Boots", "Sandals", "Loafers"],
    },
    CategorySpec {
        name: "electronics",
        min_price: 1500,
        max_price: 60000,
        sized: false,
        return_factor: 0.9,
        weight: 15,
        products: &["Headphones", "Charger", "Speaker", "Smartwatch", "Camera"],
    },
    CategorySpec {
        name: "home",
        min_price: 900,
        max_price: 25000,
        sized: false,
        return_factor: 1.0,
        weight: 14,
        products: &["Lamp", "Kettle", "Cushion", "Rug", "Pan set"],
    },
    CategorySpec {
        name: "beauty",
        min_price: 500,
        max_price: 5000,
        sized: false,
        return_factor: 0.6,
        weight: 8,
        products: &["Face cream", "Perfume", "Hair dryer", "Shampoo"],
    },
    CategorySpec {
        name: "toys",
        min_price: 900,
        max_price: 7000,
        sized: false,
        return_factor: 1.0,
        weight: 9,
        products: &["Puzzle", "Building set", "Doll", "Board game"],
    },
    CategorySpec {
        name: "books",
        min_price: 600,
        max_price: 3500,
        sized: false,
        return_factor: 0.5,
        weight: 8,
        products: &["Novel", "Cookbook", "Travel guide", "Comic"],
    },
    CategorySpec {
        name: "sports",
        min_price: 1500,
        max_price: 14000,
        sized: false,
        return_factor: 1.0,
        weight: 11,
        products: &["Yoga mat", "Dumbbells", "Tennis racket", "Bike helmet"],
    },
];

/// Where buyers live: jurisdiction, currency, whether the EU floor applies, and how many live there.
const COUNTRIES: [(&str, &str, bool, u32); 7] = [
    ("DE", "EUR", true, 20),
    ("FR", "EUR", true, 12),
    ("NL", "EUR", true, 7),
    ("IT", "EUR", true, 8),
    ("ES", "EUR", true, 8),
    ("US", "USD", false, 31),
    ("GB", "GBP", false, 14),
];

/// The EU withdrawal period, the shortest window an EU buyer has.
const EU_WITHDRAWAL_DAYS: u32 = 14;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Country {
    pub jurisdiction: Jurisdiction,
    pub currency: Currency,
    pub eu: bool,
}

/// How a seller handles returns; honest sellers slip now and then too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SellerHabits {
    /// Lets a request's response deadline pass without answering.
    pub ignore_request: f64,
    /// Declines a request whatever its merits.
    pub decline_any: f64,
    /// Answers a request with an offer instead.
    pub offer: f64,
    /// Lets the inspection deadline pass.
    pub late_inspection: f64,
    /// Refuses an item in good order at inspection.
    pub refuse_good_item: f64,
    /// Extra returns of its orders as not as described or defective.
    pub extra_defect_returns: f64,
}

impl SellerHabits {
    fn of(kind: Option<AbuseKind>) -> SellerHabits {
        let honest = SellerHabits {
            ignore_request: 0.03,
            decline_any: 0.03,
            offer: 0.07,
            late_inspection: 0.02,
            refuse_good_item: 0.0,
            extra_defect_returns: 0.0,
        };
        match kind {
            Some(AbuseKind::SellerNotAsDescribed) => SellerHabits {
                extra_defect_returns: 0.2,
                offer: 0.1,
                ..honest
            },
            Some(AbuseKind::SellerRefusesAtInspection) => SellerHabits {
                refuse_good_item: 0.85,
                ..honest
            },
            Some(AbuseKind::SellerMissesDeadlines) => SellerHabits {
                ignore_request: 0.55,
                late_inspection: 0.4,
                offer: 0.03,
                ..honest
            },
            Some(AbuseKind::SellerDeclinesMost) => SellerHabits {
                decline_any: 0.75,
                offer: 0.03,
                ..honest
            },
            _ => honest,
        }
    }
}

pub(crate) struct Seller {
    pub id: SellerId,
    pub abuse: Option<AbuseKind>,
    /// Relative share of the marketplace's orders.
    pub weight: f64,
    /// Index into [`CATEGORIES`] of what it mainly sells.
    pub category: usize,
    /// The policy it sets on the first day; none: it never sets one and the default applies.
    pub policy: Option<SellerPolicy>,
    /// A later change of policy: from which day, and the new policy.
    pub change: Option<(u32, SellerPolicy)>,
    pub habits: SellerHabits,
}

impl Seller {
    /// The policy an order registered on `day` is judged by.
    pub fn policy_on(&self, day: u32) -> SellerPolicy {
        match &self.change {
            Some((from, policy)) if day >= *from => policy.clone(),
            _ => self.policy.clone().unwrap_or_default(),
        }
    }
}

pub(crate) struct Buyer {
    pub id: BuyerId,
    pub abuse: Option<AbuseKind>,
    /// Buys mostly apparel and shoes and returns more than most (honest all the same).
    pub apparel_lover: bool,
    pub country: Country,
}

/// A return as it will be asked for, and the truth behind it.
#[derive(Debug, Clone)]
pub(crate) struct ReturnPlan {
    pub open_day: u32,
    pub items: Vec<ItemRequest>,
    pub reason: Reason,
    pub resolution: Resolution,
    pub description: Option<String>,
    /// The buyer attaches photos.
    pub evidence: bool,
    /// The claim is true: the item is what the buyer says it is.
    pub legit: bool,
    /// A claim weak enough that a careful seller turns it down.
    pub weak: bool,
    /// What the seller finds in the parcel.
    pub condition: Grade,
    /// How likely the buyer escalates when the seller says no.
    pub escalate: f64,
    /// How likely the buyer sends the item once the return is authorised.
    pub ship: f64,
    /// Seeds the draws of the parties acting on this return.
    pub seed: u64,
}

pub(crate) struct OrderPlan {
    pub no: usize,
    pub id: OrderId,
    pub buyer: usize,
    pub seller: usize,
    pub placed_day: u32,
    /// None: the parcel is lost and the platform never reports it delivered.
    pub delivery_day: Option<u32>,
    pub lines: Vec<OrderLine>,
    pub ret: Option<ReturnPlan>,
}

pub(crate) struct Population {
    pub sellers: Vec<Seller>,
    pub buyers: Vec<Buyer>,
    pub orders: Vec<OrderPlan>,
}

fn data_error(what: &str, e: impl fmt::Display) -> SimError {
    SimError::Data(format!("{what}: {e}"))
}

/// One of `choices` with probability proportional to its weight (the last one when the weights
/// are all zero).
fn weighted<T: Copy>(rng: &mut StdRng, choices: &[(T, u32)]) -> Option<T> {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return choices.last().map(|(c, _)| *c);
    }
    let mut point = rng.random_range(0..total);
    for (choice, weight) in choices {
        if point < *weight {
            return Some(*choice);
        }
        point -= weight;
    }
    choices.last().map(|(c, _)| *c)
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A uniform draw from `lo..=hi` (just `lo` when the range is empty).
fn between(rng: &mut StdRng, lo: u32, hi: u32) -> u32 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

/// Which parties of `count` are planted, and as what: `share` of them, picked at random among
/// those `fits` (then among the others if too few fit), spread evenly over `kinds`.
fn plant(
    rng: &mut StdRng,
    count: usize,
    share: f64,
    kinds: &[AbuseKind],
    fits: impl Fn(usize) -> bool,
) -> Vec<Option<AbuseKind>> {
    let planted = ((count as f64) * share).round() as usize;
    let (mut first, mut rest): (Vec<usize>, Vec<usize>) = (0..count).partition(|&i| fits(i));
    first.shuffle(rng);
    rest.shuffle(rng);
    let mut labels = vec![None; count];
    for (i, &party) in first.iter().chain(&rest).take(planted).enumerate() {
        if let (Some(label), Some(kind)) = (labels.get_mut(party), kinds.get(i % kinds.len())) {
            *label = Some(*kind);
        }
    }
    labels
}

/// `count` draws spread over `weights` in proportion (largest remainders), in random order: even
/// a small marketplace has every kind of shop.
fn stratified(rng: &mut StdRng, count: usize, weights: &[u32]) -> Vec<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum::<u64>().max(1);
    let shares: Vec<(usize, u64, u64)> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let exact = count as u64 * u64::from(w);
            (i, exact / total, exact % total)
        })
        .collect();
    let mut out: Vec<usize> = shares
        .iter()
        .flat_map(|&(i, quota, _)| std::iter::repeat_n(i, quota as usize))
        .collect();
    let mut by_remainder = shares.clone();
    by_remainder.sort_by_key(|&(i, _, remainder)| (std::cmp::Reverse(remainder), i));
    for &(i, _, _) in by_remainder
        .iter()
        .cycle()
        .take(count.saturating_sub(out.len()))
    {
        out.push(i);
    }
    out.shuffle(rng);
    out
}

fn minor(amount: i64) -> Result<MinorUnits, SimError> {
    MinorUnits::new(amount).map_err(|e| data_error("amount", e))
}

fn draw_policy(rng: &mut StdRng, category: &CategorySpec) -> Result<SellerPolicy, SimError> {
    let defaults = SellerPolicy::default();
    let window = weighted(rng, &[(14, 15), (30, 55), (60, 20), (90, 10)]).unwrap_or(30);
    let fee = weighted(rng, &[(0, 85), (10, 10), (15, 5)]).unwrap_or(0);
    let pays = match weighted(rng, &[(0, 60), (1, 25), (2, 15)]) {
        Some(1) => Vec::new(),
        Some(2) => vec![Reason::ChangedMind],
        _ => defaults.buyer_pays_return_shipping_for.clone(),
    };
    let auto_approve = weighted(rng, &[(0, 70), (2500, 20), (5000, 10)]).unwrap_or(0);
    let returnless = weighted(rng, &[(0, 88), (800, 8), (1500, 4)]).unwrap_or(0);
    let response = weighted(rng, &[(2, 30), (3, 50), (5, 20)]).unwrap_or(3);
    let on_timeout = if rng.random_bool(0.35) {
        OnSellerTimeout::AutoAccept
    } else {
        OnSellerTimeout::Escalate
    };
    let ship_by = weighted(rng, &[(7, 30), (10, 45), (14, 25)]).unwrap_or(10);
    let inspect = weighted(rng, &[(2, 30), (3, 50), (5, 20)]).unwrap_or(3);
    let methods = match weighted(rng, &[(0, 60), (1, 25), (2, 15)]) {
        Some(1) => vec![RefundMethod::OriginalPayment, RefundMethod::StoreCredit],
        Some(2) => vec![RefundMethod::OriginalPayment, RefundMethod::Exchange],
        _ => vec![RefundMethod::OriginalPayment],
    };
    let bonus = if methods.contains(&RefundMethod::StoreCredit) && rng.random_bool(0.5) {
        10
    } else {
        0
    };
    // Some beauty sellers take nothing back that was opened (hygiene).
    let non_returnable = if category.name == "beauty" && rng.random_bool(0.4) {
        vec![Category::parse("beauty").map_err(|e| data_error("category", e))?]
    } else {
        Vec::new()
    };
    Ok(SellerPolicy {
        return_window_days: window,
        non_returnable_categories: non_returnable,
        restocking_fee_percent: fee,
        buyer_pays_return_shipping_for: pays,
        // The simulated sellers send free labels: the simulation weighs abuse, not fees.
        return_shipping_fee_minor: MinorUnits::ZERO,
        auto_approve_max_minor: minor(auto_approve)?,
        returnless_refund_max_minor: minor(returnless)?,
        seller_response_business_days: response,
        on_seller_timeout: on_timeout,
        ship_by_days: ship_by,
        inspect_business_days: inspect,
        refund_methods: methods,
        store_credit_bonus_percent: bonus,
        return_methods: SellerPolicy::default().return_methods,
    })
}

fn draw_sellers(rng: &mut StdRng, config: &SimConfig) -> Result<Vec<Seller>, SimError> {
    let weights: Vec<u32> = CATEGORIES.iter().map(|c| c.weight).collect();
    let categories = stratified(rng, config.sellers, &weights);
    // Abusive sellers sell what buyers send back (not books or beauty): their abuse shows in how
    // they handle returns, so they need returns to handle.
    let labels = plant(
        rng,
        config.sellers,
        config.abusive_seller_share,
        &AbuseKind::SELLER,
        |i| {
            categories
                .get(i)
                .and_then(|&c| CATEGORIES.get(c))
                .is_some_and(|c| c.return_factor >= 1.0)
        },
    );
    let mut sellers = Vec::with_capacity(config.sellers);
    for (i, (abuse, category)) in labels.into_iter().zip(categories).enumerate() {
        let id = SellerId::parse(&format!("seller-{:04}", i + 1))
            .map_err(|e| data_error("seller id", e))?;
        let spec = CATEGORIES.get(category).copied().unwrap_or(CATEGORIES[0]);
        // Shop sizes vary; the abusers are established shops with enough trade to be judged.
        let mut weight = (0.5 * normal(rng)).exp().clamp(0.35, 3.0);
        if abuse.is_some() {
            weight = weight.clamp(2.0, 3.5);
        }
        let policy = draw_policy(rng, &spec)?;
        let change = if rng.random_bool(0.05) && config.days > 60 {
            let day = between(rng, 30, config.days - 30);
            Some((day, draw_policy(rng, &spec)?))
        } else {
            None
        };
        let policy = (change.is_some() || !rng.random_bool(0.08)).then_some(policy);
        sellers.push(Seller {
            id,
            abuse,
            weight,
            category,
            policy,
            change,
            habits: SellerHabits::of(abuse),
        });
    }
    Ok(sellers)
}

fn draw_buyers(rng: &mut StdRng, config: &SimConfig) -> Result<Vec<Buyer>, SimError> {
    let labels = plant(
        rng,
        config.buyers,
        config.abusive_buyer_share,
        &AbuseKind::BUYER,
        |_| true,
    );
    let country_weights: Vec<(usize, u32)> = COUNTRIES
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.3))
        .collect();
    let mut buyers = Vec::with_capacity(config.buyers);
    for (i, abuse) in labels.into_iter().enumerate() {
        let id = BuyerId::parse(&format!("buyer-{:05}", i + 1))
            .map_err(|e| data_error("buyer id", e))?;
        let (code, currency, eu, _) = COUNTRIES
            .get(weighted(rng, &country_weights).unwrap_or(0))
            .copied()
            .unwrap_or(COUNTRIES[0]);
        let country = Country {
            jurisdiction: Jurisdiction::parse(code).map_err(|e| data_error("jurisdiction", e))?,
            currency: Currency::parse(currency).map_err(|e| data_error("currency", e))?,
            eu,
        };
        buyers.push(Buyer {
            id,
            abuse,
            apparel_lover: rng.random_bool(0.15),
            country,
        });
    }
    Ok(buyers)
}

/// How many orders a buyer places over the simulated period.
fn order_count(rng: &mut StdRng, abuse: Option<AbuseKind>) -> u32 {
    match abuse {
        Some(AbuseKind::SerialReturner) => between(rng, 10, 16),
        Some(AbuseKind::Wardrobing) => between(rng, 9, 14),
        Some(AbuseKind::EmptyBox) => between(rng, 9, 13),
        Some(AbuseKind::RepeatedNotReceived | AbuseKind::DisputesLost) => between(rng, 10, 14),
        _ => ((7.5f64.ln() + 0.55 * normal(rng)).exp().round() as u32).clamp(2, 30),
    }
}

/// Picks sellers by their share of the marketplace, optionally among those selling sized goods.
struct SellerPicker {
    all: Vec<(usize, u32)>,
    sized: Vec<(usize, u32)>,
}

impl SellerPicker {
    fn new(sellers: &[Seller]) -> SellerPicker {
        let entry = |(i, s): (usize, &Seller)| (i, (s.weight * 1000.0).round() as u32);
        let all: Vec<(usize, u32)> = sellers.iter().enumerate().map(entry).collect();
        let sized: Vec<(usize, u32)> = sellers
            .iter()
            .enumerate()
            .filter(|(_, s)| CATEGORIES.get(s.category).is_some_and(|c| c.sized))
            .map(entry)
            .collect();
        SellerPicker { all, sized }
    }

    fn pick(&self, rng: &mut StdRng, sized: bool) -> usize {
        let from = if sized && !self.sized.is_empty() {
            &self.sized
        } else {
            &self.all
        };
        weighted(rng, from).unwrap_or(0)
    }
}

pub(crate) fn draw_lines(
    rng: &mut StdRng,
    seller: &Seller,
    seller_no: usize,
) -> Result<Vec<OrderLine>, SimError> {
    let count = weighted(rng, &[(1, 70), (2, 22), (3, 8)]).unwrap_or(1);
    let category_weights: Vec<(usize, u32)> = CATEGORIES
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.weight))
        .collect();
    let mut lines = Vec::with_capacity(count);
    for k in 0..count {
        let category = if k == 0 || rng.random_bool(0.8) {
            seller.category
        } else {
            weighted(rng, &category_weights).unwrap_or(seller.category)
        };
        let spec = CATEGORIES.get(category).copied().unwrap_or(CATEGORIES[0]);
        let product = rng.random_range(0..spec.products.len().max(1));
        let name = spec.products.get(product).copied().unwrap_or("Item");
        let model = rng.random_range(0..40u32);
        let price = rng.random_range(spec.min_price..=spec.max_price) / 100 * 100 + 99;
        lines.push(OrderLine {
            line_id: LineId::parse(&format!("l{}", k + 1)).map_err(|e| data_error("line", e))?,
            sku: Sku::parse(&format!(
                "SKU-{:04}-{}-{model:02}",
                seller_no + 1,
                spec.name
            ))
            .map_err(|e| data_error("sku", e))?,
            title: format!("{name} {model}"),
            category: Category::parse(spec.name).map_err(|e| data_error("category", e))?,
            quantity: weighted(rng, &[(1, 85), (2, 12), (3, 3)]).unwrap_or(1),
            unit_price_minor: minor(price)?,
        });
    }
    Ok(lines)
}

/// Which items a return names: usually all of the first line, sometimes one piece of it, now and
/// then the whole order.
fn return_items(rng: &mut StdRng, lines: &[OrderLine]) -> Vec<ItemRequest> {
    let whole_order = lines.len() > 1 && rng.random_bool(0.15);
    let take = if whole_order { lines.len() } else { 1 };
    lines
        .iter()
        .take(take)
        .map(|line| ItemRequest {
            line_id: line.line_id.clone(),
            quantity: if line.quantity > 1 && rng.random_bool(0.4) {
                1
            } else {
                line.quantity
            },
        })
        .collect()
}

fn honest_reason(rng: &mut StdRng, sized: bool) -> Reason {
    let choices: &[(Reason, u32)] = if sized {
        &[
            (Reason::SizeFit, 40),
            (Reason::ChangedMind, 26),
            (Reason::NotAsDescribed, 5),
            (Reason::Defective, 3),
            (Reason::DamagedInTransit, 6),
            (Reason::WrongItem, 4),
            (Reason::MissingParts, 2),
            (Reason::ArrivedLate, 4),
        ]
    } else {
        &[
            (Reason::ChangedMind, 40),
            (Reason::Defective, 11),
            (Reason::NotAsDescribed, 7),
            (Reason::DamagedInTransit, 10),
            (Reason::WrongItem, 5),
            (Reason::MissingParts, 7),
            (Reason::ArrivedLate, 6),
        ]
    };
    weighted(rng, choices).unwrap_or(Reason::ChangedMind)
}

/// What an honest buyer's parcel holds, given why it comes back.
fn honest_condition(rng: &mut StdRng, reason: Reason) -> Grade {
    let choices: &[(Grade, u32)] = match reason {
        Reason::DamagedInTransit => &[(Grade::Damaged, 70), (Grade::Opened, 30)],
        Reason::Defective => &[(Grade::Opened, 60), (Grade::Used, 25), (Grade::Damaged, 15)],
        Reason::MissingParts => &[(Grade::MissingParts, 60), (Grade::Opened, 40)],
        Reason::NotAsDescribed | Reason::WrongItem => &[(Grade::AsNew, 50), (Grade::Opened, 50)],
        _ => &[
            (Grade::AsNew, 56),
            (Grade::Opened, 37),
            (Grade::Used, 5),
            (Grade::Damaged, 2),
        ],
    };
    weighted(rng, choices).unwrap_or(Grade::Opened)
}

fn description(reason: Reason) -> &'static str {
    match reason {
        Reason::NotAsDescribed => "The colour and material differ from the photos.",
        Reason::Defective => "Stopped working after a few days.",
        Reason::DamagedInTransit => "The parcel arrived crushed and the item is broken.",
        Reason::WrongItem => "I received a different model than the one I ordered.",
        Reason::MissingParts => "The box is missing parts listed in the manual.",
        Reason::SizeFit => "Does not fit, too small.",
        Reason::ChangedMind => "I no longer need it.",
        Reason::ArrivedLate => "It arrived after the date I needed it.",
        Reason::NotReceived => "The parcel never arrived.",
    }
}

/// Everything about one order that shapes its return.
struct OrderContext<'a> {
    buyer: &'a Buyer,
    seller: &'a Seller,
    lines: &'a [OrderLine],
    placed_day: u32,
    delivery_day: Option<u32>,
    /// The end of the latest time window, in days from delivery.
    window_days: u32,
}

fn plan_return(rng: &mut StdRng, cx: &OrderContext<'_>) -> Option<ReturnPlan> {
    let sized = cx
        .lines
        .first()
        .and_then(|line| CATEGORIES.iter().find(|c| line.category.matches(c.name)))
        .is_some_and(|c| c.sized);
    let factor = cx
        .lines
        .first()
        .and_then(|line| CATEGORIES.iter().find(|c| line.category.matches(c.name)))
        .map_or(1.0, |c| c.return_factor);
    let seed = rng.random::<u64>();
    let items = return_items(rng, cx.lines);
    let base = ReturnPlan {
        open_day: 0,
        items,
        reason: Reason::ChangedMind,
        resolution: Resolution::Refund,
        description: None,
        evidence: false,
        legit: true,
        weak: false,
        condition: Grade::AsNew,
        escalate: 0.75,
        ship: 0.96,
        seed,
    };
    let Some(delivered) = cx.delivery_day else {
        // A lost parcel: the buyer asks after it once it is well overdue.
        return Some(ReturnPlan {
            open_day: cx.placed_day + between(rng, 10, 14),
            reason: Reason::NotReceived,
            description: Some(description(Reason::NotReceived).to_owned()),
            ..base
        });
    };
    let early = |rng: &mut StdRng, last: u32| delivered + between(rng, 1, last.max(1));
    let window = cx.window_days.max(2);
    match cx.buyer.abuse {
        Some(AbuseKind::SerialReturner) => {
            if !rng.random_bool(0.75) {
                return None;
            }
            let size_or_mind = if sized {
                Reason::SizeFit
            } else {
                Reason::ChangedMind
            };
            let reason = weighted(
                rng,
                &[
                    (Reason::ChangedMind, 50),
                    (size_or_mind, 35),
                    (Reason::NotAsDescribed, 10),
                    (Reason::Defective, 5),
                ],
            )
            .unwrap_or(Reason::ChangedMind);
            Some(ReturnPlan {
                open_day: early(rng, 10.min(window - 1)),
                reason,
                description: Some(description(reason).to_owned()),
                condition: if rng.random_bool(0.6) {
                    Grade::AsNew
                } else {
                    Grade::Opened
                },
                escalate: 0.3,
                ..base
            })
        }
        Some(AbuseKind::Wardrobing) => {
            if !rng.random_bool(0.6) {
                return None;
            }
            let reason = if rng.random_bool(0.5) {
                Reason::ChangedMind
            } else {
                Reason::SizeFit
            };
            // In the last two days of the window, after wearing it.
            let open_day = delivered + window - between(rng, 1, 2);
            Some(ReturnPlan {
                open_day,
                reason,
                description: Some(description(reason).to_owned()),
                legit: false,
                condition: if rng.random_bool(0.92) {
                    Grade::Used
                } else {
                    Grade::Opened
                },
                escalate: 0.2,
                ship: 0.98,
                ..base
            })
        }
        Some(AbuseKind::EmptyBox) => {
            if !rng.random_bool(0.55) {
                return None;
            }
            let reason = weighted(
                rng,
                &[
                    (Reason::ChangedMind, 50),
                    (Reason::Defective, 25),
                    (Reason::NotAsDescribed, 25),
                ],
            )
            .unwrap_or(Reason::ChangedMind);
            let condition = weighted(
                rng,
                &[
                    (Grade::EmptyBox, 60),
                    (Grade::WrongItem, 25),
                    (Grade::AsNew, 15),
                ],
            )
            .unwrap_or(Grade::EmptyBox);
            Some(ReturnPlan {
                open_day: early(rng, 8.min(window - 1)),
                reason,
                description: Some(description(reason).to_owned()),
                evidence: rng.random_bool(0.3),
                legit: matches!(condition, Grade::AsNew),
                condition,
                escalate: 0.5,
                ship: 1.0,
                ..base
            })
        }
        Some(AbuseKind::RepeatedNotReceived) => {
            if rng.random_bool(0.45) {
                Some(ReturnPlan {
                    open_day: delivered + between(rng, 1, 5),
                    reason: Reason::NotReceived,
                    description: Some(description(Reason::NotReceived).to_owned()),
                    legit: false,
                    escalate: 0.8,
                    ..base
                })
            } else if rng.random_bool(0.05) {
                Some(ReturnPlan {
                    open_day: early(rng, 7.min(window - 1)),
                    ..base
                })
            } else {
                None
            }
        }
        Some(AbuseKind::DisputesLost) => {
            if !rng.random_bool(0.6) {
                return None;
            }
            // Vague quality complaints, or a change of mind well after the window closed.
            let reason = weighted(
                rng,
                &[
                    (Reason::NotAsDescribed, 40),
                    (Reason::Defective, 25),
                    (Reason::ChangedMind, 35),
                ],
            )
            .unwrap_or(Reason::NotAsDescribed);
            let open_day = if reason == Reason::ChangedMind {
                delivered + window + between(rng, 1, 10)
            } else {
                early(rng, 10.min(window - 1))
            };
            Some(ReturnPlan {
                open_day,
                reason,
                description: Some("Not good.".to_owned()),
                legit: false,
                weak: true,
                condition: if rng.random_bool(0.7) {
                    Grade::AsNew
                } else {
                    Grade::Opened
                },
                escalate: 1.0,
                ..base
            })
        }
        _ => honest_return(rng, cx, base, delivered, window, sized, factor),
    }
}

fn honest_return(
    rng: &mut StdRng,
    cx: &OrderContext<'_>,
    base: ReturnPlan,
    delivered: u32,
    window: u32,
    sized: bool,
    factor: f64,
) -> Option<ReturnPlan> {
    let rate = if cx.buyer.apparel_lover { 0.16 } else { 0.09 } * factor;
    let returns = rng.random_bool(rate.clamp(0.0, 1.0));
    let defect = !returns && rng.random_bool(cx.seller.habits.extra_defect_returns);
    if !returns && !defect {
        return None;
    }
    let reason = if defect {
        if rng.random_bool(0.5) {
            Reason::NotAsDescribed
        } else {
            Reason::Defective
        }
    } else {
        honest_reason(rng, sized)
    };
    let resolution = match reason {
        Reason::SizeFit if rng.random_bool(0.3) => Resolution::Exchange,
        Reason::Defective if rng.random_bool(0.05) => Resolution::Repair,
        _ => Resolution::Refund,
    };
    // Most returns come soon after delivery; some late in the window; a few after it.
    let open_day = if rng.random_bool(0.025) {
        delivered + window + between(rng, 1, 15)
    } else if rng.random_bool(0.65) {
        delivered + between(rng, 1, 7.min(window - 1))
    } else {
        delivered + between(rng, 1, window - 1)
    };
    let conformity = reason.is_conformity() || reason == Reason::DamagedInTransit;
    Some(ReturnPlan {
        open_day,
        reason,
        resolution,
        description: rng.random_bool(0.7).then(|| description(reason).to_owned()),
        evidence: conformity && rng.random_bool(0.6),
        condition: honest_condition(rng, reason),
        ..base
    })
}

/// Draws the whole marketplace from the seed.
pub(crate) fn draw(config: &SimConfig) -> Result<Population, SimError> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let sellers = draw_sellers(&mut rng, config)?;
    let buyers = draw_buyers(&mut rng, config)?;
    let picker = SellerPicker::new(&sellers);

    // When each buyer orders: a few orders over the period, on random days, leaving time for the
    // last ones to arrive.
    let last_order_day = config.days.saturating_sub(4);
    let mut placements: Vec<(u32, usize)> = Vec::new();
    for (b, buyer) in buyers.iter().enumerate() {
        // A wardrober's returns come at the end of long windows: its buys are early enough for
        // most of them to come back within the period.
        let last = match buyer.abuse {
            Some(AbuseKind::Wardrobing) => {
                last_order_day.saturating_sub(45).max(last_order_day / 2)
            }
            _ => last_order_day,
        };
        for _ in 0..order_count(&mut rng, buyer.abuse) {
            placements.push((between(&mut rng, 0, last), b));
        }
    }
    placements.sort_unstable();

    let mut orders = Vec::with_capacity(placements.len());
    for (no, (placed_day, b)) in placements.into_iter().enumerate() {
        let Some(buyer) = buyers.get(b) else {
            continue;
        };
        let sized_only = match buyer.abuse {
            Some(AbuseKind::Wardrobing) => true,
            _ => buyer.apparel_lover && rng.random_bool(0.7),
        };
        let s = picker.pick(&mut rng, sized_only);
        let Some(seller) = sellers.get(s) else {
            continue;
        };
        let lines = draw_lines(&mut rng, seller, s)?;
        let lost = buyer.abuse != Some(AbuseKind::RepeatedNotReceived) && rng.random_bool(0.004);
        let delivery_day = (!lost).then(|| placed_day + between(&mut rng, 2, 6));
        let policy = seller.policy_on(placed_day);
        let window_days = if buyer.country.eu {
            policy.return_window_days.max(EU_WITHDRAWAL_DAYS)
        } else {
            policy.return_window_days
        };
        let cx = OrderContext {
            buyer,
            seller,
            lines: &lines,
            placed_day,
            delivery_day,
            window_days,
        };
        let ret = plan_return(&mut rng, &cx).filter(|r| r.open_day < config.days);
        orders.push(OrderPlan {
            no,
            id: OrderId::parse(&format!("order-{:07}", no + 1))
                .map_err(|e| data_error("order id", e))?,
            buyer: b,
            seller: s,
            placed_day,
            delivery_day,
            lines,
            ret,
        });
    }
    Ok(Population {
        sellers,
        buyers,
        orders,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SimConfig {
        SimConfig {
            buyers: 300,
            sellers: 30,
            abusive_buyer_share: 0.1,
            abusive_seller_share: 0.2,
            ..SimConfig::default()
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_marketplace() -> Result<(), SimError> {
        let a = draw(&config())?;
        let b = draw(&config())?;
        assert_eq!(a.orders.len(), b.orders.len());
        for (x, y) in a.orders.iter().zip(&b.orders) {
            assert_eq!(x.id, y.id);
            assert_eq!(x.buyer, y.buyer);
            assert_eq!(x.seller, y.seller);
            assert_eq!(x.lines, y.lines);
            assert_eq!(
                x.ret.as_ref().map(|r| r.open_day),
                y.ret.as_ref().map(|r| r.open_day)
            );
        }
        Ok(())
    }

    #[test]
    fn the_planted_shares_are_met_and_spread_over_the_kinds() -> Result<(), SimError> {
        let population = draw(&config())?;
        let buyers = population
            .buyers
            .iter()
            .filter(|b| b.abuse.is_some())
            .count();
        let sellers = population
            .sellers
            .iter()
            .filter(|s| s.abuse.is_some())
            .count();
        assert_eq!(buyers, 30);
        assert_eq!(sellers, 6);
        for kind in AbuseKind::BUYER {
            let n = population
                .buyers
                .iter()
                .filter(|b| b.abuse == Some(kind))
                .count();
            assert_eq!(n, 6, "{kind}");
        }
        Ok(())
    }

    #[test]
    fn even_a_small_marketplace_has_every_kind_of_shop() -> Result<(), SimError> {
        let population = draw(&SimConfig {
            sellers: 12,
            ..config()
        })?;
        let sized = population
            .sellers
            .iter()
            .filter(|s| CATEGORIES.get(s.category).is_some_and(|c| c.sized))
            .count();
        assert_eq!(sized, 4);
        let abusive_categories = population
            .sellers
            .iter()
            .filter(|s| s.abuse.is_some())
            .filter_map(|s| CATEGORIES.get(s.category));
        for category in abusive_categories {
            assert!(category.return_factor >= 1.0, "{}", category.name);
        }
        let mut rng = StdRng::seed_from_u64(1);
        let spread = stratified(&mut rng, 10, &[1, 1, 2]);
        assert_eq!(spread.len(), 10);
        assert_eq!(spread.iter().filter(|&&i| i == 2).count(), 5);
        Ok(())
    }

    #[test]
    fn wardrobers_ask_in_the_last_days_of_their_window() -> Result<(), SimError> {
        let population = draw(&config())?;
        let mut seen = 0;
        for order in &population.orders {
            let Some(buyer) = population.buyers.get(order.buyer) else {
                continue;
            };
            if buyer.abuse != Some(AbuseKind::Wardrobing) {
                continue;
            }
            let (Some(ret), Some(delivered), Some(seller)) = (
                &order.ret,
                order.delivery_day,
                population.sellers.get(order.seller),
            ) else {
                continue;
            };
            let mut window = seller.policy_on(order.placed_day).return_window_days;
            if buyer.country.eu {
                window = window.max(EU_WITHDRAWAL_DAYS);
            }
            let left = delivered + window - ret.open_day;
            assert!((1..=2).contains(&left), "{left} days left");
            seen += 1;
        }
        assert!(seen > 0);
        Ok(())
    }
}
