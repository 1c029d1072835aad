//! The simulator end to end on a fresh database: a small marketplace played through the command
//! layer, the abuse projection run over it, and the report scored against the planted labels.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use returns_arbitration::abuse::PartyRole;
use returns_simulator::{simulate, AbuseKind, Report, SimConfig};
use returns_testkit::TestDb;

fn small(seed: u64) -> SimConfig {
    SimConfig {
        buyers: 200,
        sellers: 12,
        abusive_buyer_share: 0.1,
        abusive_seller_share: 1.0 / 3.0,
        days: 200,
        seed,
        progress: false,
    }
}

async fn run(config: &SimConfig) -> (TestDb, Report) {
    let db = TestDb::new().await;
    let report = simulate(db.pool().clone(), config)
        .await
        .expect("the simulation runs");
    (db, report)
}

async fn count(
    db: &TestDb,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> i64 {
    let client = db.pool().get().await.unwrap();
    client.query_one(sql, params).await.unwrap().get(0)
}

/// Events of `event_type` on the returns of `party` (matched by the return's request), optionally
/// with `field` among `values`.
async fn return_events_of(
    db: &TestDb,
    role: PartyRole,
    party: &str,
    event_type: &str,
    field: &str,
    values: &[&str],
) -> i64 {
    let party_field = match role {
        PartyRole::Buyer => "buyer_id",
        PartyRole::Seller => "seller_id",
    };
    let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
    let sql = format!(
        "SELECT count(*) FROM events e \
         JOIN events r ON r.stream_id = e.stream_id AND r.event_type = 'return.requested' \
         WHERE r.data->>'{party_field}' = $1 AND e.event_type = $2 \
           AND (cardinality($3::text[]) = 0 OR e.data->>'{field}' = ANY($3))"
    );
    count(db, &sql, &[&party, &event_type, &values]).await
}

#[tokio::test]
async fn a_small_run_accounts_for_every_party_and_plays_the_planted_abuse_through_the_log() {
    let config = small(7);
    let (db, report) = run(&config).await;

    // Every configured party is counted once, planted or honest, flagged or not.
    assert_eq!(report.buyers.parties, 200);
    assert_eq!(report.sellers.parties, 12);
    assert_eq!(report.overall.parties, 212);
    assert_eq!(report.parties.len(), 212);
    assert_eq!(report.buyers.abusive, 20);
    assert_eq!(report.sellers.abusive, 4);
    for c in [&report.buyers, &report.sellers, &report.overall] {
        assert_eq!(c.true_positives + c.false_negatives, c.abusive);
        assert_eq!(c.false_positives + c.true_negatives, c.honest);
        assert_eq!(c.abusive + c.honest, c.parties);
        assert_eq!(c.true_positives + c.false_positives, c.flagged);
    }
    assert_eq!(
        report.overall.true_positives,
        report.buyers.true_positives + report.sellers.true_positives
    );
    let planted: usize = report.by_planted_kind.iter().map(|k| k.planted).sum();
    assert_eq!(planted, 24);
    for kind in &report.by_planted_kind {
        let expected = if kind.kind.role() == PartyRole::Buyer {
            4
        } else {
            1
        };
        assert_eq!(kind.planted, expected, "{}", kind.kind);
        assert!(kind.flagged <= kind.planted && kind.flagged_as_expected <= kind.flagged);
    }
    let flags: usize = report.by_flag_kind.iter().map(|k| k.flags).sum();
    assert_eq!(flags, report.detection.flags);

    // The marketplace ran its course through the command layer.
    let g = &report.generation;
    assert!(g.policies_set > 0, "{g:?}");
    assert!(g.orders >= 200 * 2, "{g:?}");
    assert!(g.deliveries > g.orders * 9 / 10, "{g:?}");
    assert!(g.returns_opened > g.orders / 20, "{g:?}");
    assert!(g.returns_closed > g.returns_opened / 2, "{g:?}");
    assert!(g.disputes_decided > 0 && g.refunds_issued > 0, "{g:?}");
    assert!(g.deadlines_applied > 0, "{g:?}");
    assert!(g.refused * 100 <= g.commands, "few commands refused: {g:?}");
    let orders = count(
        &db,
        "SELECT count(*) FROM events WHERE event_type = 'order.registered'",
        &[],
    )
    .await;
    assert_eq!(orders as u64, g.orders);

    // Every planted party traded, and each kind of abuse left its mark in the log.
    for party in report.parties.iter().filter(|p| p.planted.is_some()) {
        let field = match party.role {
            PartyRole::Buyer => "buyer_id",
            PartyRole::Seller => "seller_id",
        };
        let orders = count(
            &db,
            &format!(
                "SELECT count(*) FROM events \
                 WHERE event_type = 'order.registered' AND data->'order'->>'{field}' = $1"
            ),
            &[&party.id],
        )
        .await;
        assert!(
            orders >= 5,
            "{} ({:?}) has {orders} orders",
            party.id,
            party.planted
        );
    }
    let of_kind = |kind: AbuseKind| {
        report
            .parties
            .iter()
            .filter(move |p| p.planted == Some(kind))
            .map(|p| (p.role, p.id.clone()))
    };
    let signature = |kind: AbuseKind| -> (&'static str, &'static str, &'static [&'static str]) {
        match kind {
            AbuseKind::SerialReturner => ("return.requested", "reason", &[]),
            AbuseKind::Wardrobing => ("return.inspected", "grade", &["used"]),
            AbuseKind::EmptyBox => ("return.inspected", "grade", &["empty_box", "wrong_item"]),
            AbuseKind::RepeatedNotReceived => ("return.requested", "reason", &["not_received"]),
            AbuseKind::DisputesLost => ("return.dispute_decided", "outcome", &["side_with_seller"]),
            AbuseKind::SellerNotAsDescribed => (
                "return.requested",
                "reason",
                &["not_as_described", "defective"],
            ),
            AbuseKind::SellerRefusesAtInspection => {
                ("return.dispute_decided", "outcome", &["refund_buyer"])
            }
            AbuseKind::SellerMissesDeadlines => (
                "return.deadline_missed",
                "kind",
                &["seller_response_due", "inspect_by"],
            ),
            AbuseKind::SellerDeclinesMost => ("return.declined", "stage", &["response"]),
        }
    };
    for kind in AbuseKind::ALL {
        let (event_type, field, values) = signature(kind);
        let mut marks = 0;
        for (role, id) in of_kind(kind) {
            marks += return_events_of(&db, role, &id, event_type, field, values).await;
        }
        assert!(marks >= 3, "{kind}: {marks} {event_type} events");
    }

    // The report prints as a table naming every role and planted kind.
    let text = report.to_string();
    for word in ["buyers", "sellers", "overall", "precision", "recall"] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
    for kind in AbuseKind::ALL {
        assert!(text.contains(kind.as_str()), "{kind} missing from:\n{text}");
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_report() {
    let (same, other) = (small(11), small(12));
    let ((_a_db, a), (_b_db, b), (_c_db, c)) = tokio::join!(run(&same), run(&same), run(&other));
    // Everything but the wall-clock timings, part by part for readable failures.
    assert_eq!(a.generation, b.generation);
    assert_eq!(a.detection, b.detection);
    assert_eq!(a.buyers, b.buyers);
    assert_eq!(a.sellers, b.sellers);
    assert_eq!(a.overall, b.overall);
    assert_eq!(a.by_planted_kind, b.by_planted_kind);
    assert_eq!(a.by_flag_kind, b.by_flag_kind);
    for (x, y) in a.parties.iter().zip(&b.parties) {
        assert_eq!(x, y);
    }
    assert_eq!(
        a,
        Report {
            timings: a.timings,
            ..b.clone()
        }
    );
    assert_ne!(
        a.generation, c.generation,
        "another seed, another marketplace"
    );
}

/// Detection quality: the abuse projection with its default thresholds finds most planted abusers
/// and flags few honest parties. Fails when detection regresses (or cannot run).
#[tokio::test]
async fn detection_flags_most_planted_abusers_and_few_honest_parties() {
    let (_db, report) = run(&small(42)).await;
    println!("{report}");
    assert_eq!(report.detection.error, None, "the abuse projection stopped");
    assert!(report.detection.flags > 0);
    let overall = &report.overall;
    assert!(overall.recall.unwrap() >= 0.7, "{report}");
    assert!(overall.precision.unwrap() >= 0.5, "{report}");
    assert!(
        report.buyers.honest_flagged_share.unwrap() <= 0.1,
        "{report}"
    );
    assert!(
        report.sellers.honest_flagged_share.unwrap() <= 0.25,
        "{report}"
    );
    let expected: usize = report
        .by_planted_kind
        .iter()
        .map(|k| k.flagged_as_expected)
        .sum();
    assert!(expected * 2 >= report.overall.abusive, "{report}");
}
