//! `switchyard report` against known events in a temporary SQLite store: every figure checked
//! exactly, including empty groups, zero successes, streams without TTFT, SLO verdicts and the
//! baseline comparison.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod report_support;

use report_support::*;

#[tokio::test]
async fn every_figure_per_class_and_target() {
    let s = seeded().await;
    let r = report::build(s.as_ref(), &window(T + 1000)).await.unwrap();
    assert_eq!(
        (r.first_ts_ms, r.last_ts_ms),
        (Some(T + 100), Some(T + 900))
    );
    let names: Vec<&str> = r.classes.iter().map(|c| c.class.as_str()).collect();
    assert_eq!(names, ["default", LC, "reasoning-heavy"]);

    assert_eq!(
        class(&r, LC).totals,
        Figures {
            requests: 5,
            successes: 2,
            errors: 2,
            abandoned: 1,
            error_rate: Some(0.4),
            abandoned_ratio: Some(0.2),
            success_rate: Some(0.5),
            errors_by_kind: kinds(&[("Transport", 1), ("Upstream5xx", 1)]),
            retries_per_success: Some(0.5),
            attempts: 7,
            attempt_errors: kinds(&[("RateLimited", 1), ("Upstream5xx", 2)]),
            ttft_ms: pct(4, 40.0, 80.0, 80.0),
            latency_ms: pct(2, 100.0, 300.0, 300.0),
            cost_usd: 0.4375,
            estimated: 1,
            estimated_cost_usd: 0.0625,
            unpriced: 0,
            input_tokens: 45,
            output_tokens: 66,
        }
    );
    let targets: Vec<&str> = class(&r, LC)
        .targets
        .iter()
        .map(|t| t.target.as_str())
        .collect();
    assert_eq!(targets, [HAIKU, GROQ, OPENAI]);
    assert_eq!(
        *target(&r, LC, OPENAI),
        Figures {
            requests: 4,
            successes: 2,
            errors: 1,
            abandoned: 1,
            error_rate: Some(0.25),
            abandoned_ratio: Some(0.25),
            success_rate: Some(2.0 / 3.0),
            errors_by_kind: kinds(&[("Upstream5xx", 1)]),
            retries_per_success: Some(0.5),
            attempts: 5,
            attempt_errors: kinds(&[("Upstream5xx", 2)]),
            ttft_ms: pct(3, 40.0, 80.0, 80.0),
            latency_ms: pct(2, 100.0, 300.0, 300.0),
            cost_usd: 0.375,
            estimated: 0,
            estimated_cost_usd: 0.0,
            unpriced: 0,
            input_tokens: 40,
            output_tokens: 60,
        }
    );
    // Only tried, never the final target: an empty group, every rate undefined.
    assert_eq!(
        *target(&r, LC, GROQ),
        Figures {
            attempts: 1,
            attempt_errors: kinds(&[("RateLimited", 1)]),
            ..Figures::default()
        }
    );
    // Zero successes: a success rate of 0, no retries per success, no latency.
    assert_eq!(
        *target(&r, LC, HAIKU),
        Figures {
            requests: 1,
            errors: 1,
            error_rate: Some(1.0),
            abandoned_ratio: Some(0.0),
            success_rate: Some(0.0),
            errors_by_kind: kinds(&[("Transport", 1)]),
            attempts: 1,
            ttft_ms: pct(1, 60.0, 60.0, 60.0),
            cost_usd: 0.0625,
            estimated: 1,
            estimated_cost_usd: 0.0625,
            unpriced: 0,
            input_tokens: 5,
            output_tokens: 6,
            ..Figures::default()
        }
    );

    // No route class: `default`; no target: `none`; errors by code, else by status.
    assert_eq!(
        class(&r, "default").totals,
        Figures {
            requests: 3,
            successes: 1,
            errors: 2,
            error_rate: Some(2.0 / 3.0),
            abandoned_ratio: Some(0.0),
            success_rate: Some(1.0 / 3.0),
            errors_by_kind: kinds(&[("http_429", 1), ("model_not_found", 1)]),
            retries_per_success: Some(0.0),
            attempts: 1,
            latency_ms: pct(1, 250.0, 250.0, 250.0),
            cost_usd: 0.5,
            estimated: 0,
            estimated_cost_usd: 0.0,
            unpriced: 0,
            input_tokens: 100,
            output_tokens: 50,
            ..Figures::default()
        }
    );
    assert_eq!(target(&r, "default", "none").requests, 2);
    assert_eq!(target(&r, "default", OPENAI).successes, 1);

    // Abandoned before the first token: neither success nor error, no TTFT sample; served by a
    // model without a price, so counted as unpriced rather than free.
    assert_eq!(
        class(&r, "reasoning-heavy").totals,
        Figures {
            requests: 1,
            abandoned: 1,
            error_rate: Some(0.0),
            abandoned_ratio: Some(1.0),
            attempts: 1,
            unpriced: 1,
            ..Figures::default()
        }
    );

    // Without a window, r0 and r10 count too.
    let all = report::build(s.as_ref(), &ReportQuery::default())
        .await
        .unwrap();
    assert_eq!(class(&all, LC).totals.requests, 7);
    assert_eq!(class(&all, LC).totals.attempts, 8);
    assert!(all.slos.is_empty());
}

/// An objective, its target, what was measured, and the verdict.
type Judged = (Objective, f64, Option<f64>, Verdict);

#[tokio::test]
async fn slo_verdicts_with_measured_values() {
    let s = seeded().await;
    let r = report::build(s.as_ref(), &window(T + 1000)).await.unwrap();
    let got: Vec<(&str, Verdict, Vec<Judged>)> = r
        .slos
        .iter()
        .map(|s| {
            (
                s.class.as_str(),
                s.verdict,
                s.objectives
                    .iter()
                    .map(|o| (o.objective, o.target, o.measured, o.verdict))
                    .collect(),
            )
        })
        .collect();
    use Objective::*;
    use Verdict::*;
    assert_eq!(
        got,
        [
            (
                LC,
                NotMet,
                vec![
                    (TtftP95Ms, 800.0, Some(80.0), Met),
                    (SuccessRate, 0.995, Some(0.5), NotMet)
                ]
            ),
            (
                LC,
                Met,
                vec![
                    (TtftP95Ms, 800.0, Some(80.0), Met),
                    (LatencyP95Ms, 301.0, Some(300.0), Met)
                ]
            ),
            // Latency bounds are strict: 250 is not below 250.
            (
                "default",
                NotMet,
                vec![
                    (LatencyP95Ms, 250.0, Some(250.0), NotMet),
                    (SuccessRate, 0.3, Some(1.0 / 3.0), Met)
                ]
            ),
            // Streams, but none reached a first token.
            (
                "reasoning-heavy",
                NoData,
                vec![(TtftP95Ms, 1000.0, None, NoData)]
            ),
            // No requests at all.
            (
                "compliance-constrained",
                NoData,
                vec![(SuccessRate, 0.99, None, NoData)]
            ),
        ]
    );
}

#[test]
fn slo_declarations_parse_or_say_what_is_wrong() {
    let slo: Slo = "latency-critical: ttft_p95_ms=800, success_rate=99.5%"
        .parse()
        .unwrap();
    assert_eq!(
        slo,
        Slo {
            class: LC.into(),
            ttft_p95_ms: Some(800.0),
            latency_p95_ms: None,
            success_rate: Some(0.995),
        }
    );
    let from_config: Slo =
        serde_json::from_value(json!({"class": LC, "latency_p95_ms": 2000})).unwrap();
    assert_eq!(from_config.validate(), Ok(()));
    assert!(serde_json::from_value::<Slo>(json!({"class": LC, "p95": 1})).is_err());
    let err = |s: &str| s.parse::<Slo>().unwrap_err();
    assert!(matches!(err("ttft_p95_ms=800"), SloError::NoClass(_)));
    assert!(matches!(err("x:"), SloError::Empty(_)));
    assert!(matches!(err("x:p95=1"), SloError::UnknownObjective(o) if o == "p95"));
    assert!(matches!(
        err("x:ttft_p95_ms=fast"),
        SloError::NotANumber { .. }
    ));
    assert!(matches!(
        err("x:ttft_p95_ms=-1"),
        SloError::OutOfRange { .. }
    ));
    assert!(matches!(
        err("x:success_rate=99.5"),
        SloError::OutOfRange { .. }
    ));
    assert!(err("x:success_rate=99.5").to_string().contains("(0, 1]"));
}

#[tokio::test]
async fn an_empty_store_reports_nothing_and_judges_no_data() {
    let s = store().await;
    let r = report::build(s.as_ref(), &window(T + 1000)).await.unwrap();
    assert!(r.classes.is_empty());
    assert_eq!((r.first_ts_ms, r.last_ts_ms), (None, None));
    assert!(r.slos.iter().all(|s| s.verdict == Verdict::NoData));
    let text = report::render_table(&r);
    assert!(text.contains("No requests in this window."), "{text}");
}

#[tokio::test]
async fn a_payload_that_is_not_json_is_a_corrupt_row() {
    let s = store().await;
    let mut e = Event::chain(
        "n",
        1,
        Digest::GENESIS,
        Draft::new(EventKind::Outcome, Some("r"), json!({})),
    );
    e.payload = "not json".into();
    s.append(vec![e]).await.unwrap();
    let err = report::build(s.as_ref(), &ReportQuery::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("n#1"), "{err}");
}

#[tokio::test]
async fn baseline_comparison_through_json() {
    let s = seeded().await;
    // The baseline window holds r1…r4 only.
    let baseline = report::build(s.as_ref(), &window(T + 450)).await.unwrap();
    let current = report::build(s.as_ref(), &window(T + 1000)).await.unwrap();
    let saved = serde_json::to_string_pretty(&baseline).unwrap();
    let baseline: Report = serde_json::from_str(&saved).unwrap();
    assert_eq!(
        serde_json::from_str::<Report>(&serde_json::to_string(&current).unwrap()).unwrap(),
        current,
        "a report survives JSON unchanged"
    );
    let c = report::compare(&baseline, &current);
    let rows: Vec<(&str, Option<&str>, Presence)> = c
        .rows
        .iter()
        .map(|r| (r.class.as_str(), r.target.as_deref(), r.presence))
        .collect();
    use Presence::*;
    assert_eq!(
        rows,
        [
            ("default", None, CurrentOnly),
            ("default", Some("none"), CurrentOnly),
            ("default", Some(OPENAI), CurrentOnly),
            (LC, None, Both),
            (LC, Some(HAIKU), CurrentOnly),
            (LC, Some(GROQ), Both),
            (LC, Some(OPENAI), Both),
            ("reasoning-heavy", None, CurrentOnly),
            ("reasoning-heavy", Some(OPENAI), CurrentOnly),
        ]
    );
    let change = |class: &str, target: Option<&str>, figure: &str| {
        c.rows
            .iter()
            .find(|r| r.class == class && r.target.as_deref() == target)
            .unwrap()
            .changes
            .iter()
            .find(|x| x.figure == figure)
            .map(|x| (x.baseline, x.current, x.delta, x.relative))
            .unwrap()
    };
    assert_eq!(
        change(LC, None, "requests"),
        (Some(4.0), Some(5.0), Some(1.0), Some(0.25))
    );
    assert_eq!(
        change(LC, None, "error_rate"),
        (
            Some(0.25),
            Some(0.4),
            Some(0.4 - 0.25),
            Some((0.4 - 0.25) / 0.25)
        )
    );
    assert_eq!(
        change(LC, None, "cost_usd"),
        (
            Some(0.375),
            Some(0.4375),
            Some(0.0625),
            Some(0.0625 / 0.375)
        )
    );
    assert_eq!(
        change(LC, None, "ttft_p50_ms"),
        (Some(40.0), Some(40.0), Some(0.0), Some(0.0))
    );
    // A baseline of zero has no relative change; a missing side has no change at all.
    assert_eq!(
        change(LC, Some(GROQ), "cost_usd"),
        (Some(0.0), Some(0.0), Some(0.0), None)
    );
    assert_eq!(
        change(LC, Some(HAIKU), "requests"),
        (None, Some(1.0), None, None)
    );
    assert_eq!(
        change(LC, Some(GROQ), "success_rate"),
        (None, None, None, None)
    );

    let slo = c
        .slos
        .iter()
        .find(|s| s.class == LC && s.objective == Objective::SuccessRate)
        .unwrap();
    assert_eq!(
        (slo.baseline_verdict, slo.current_verdict),
        (Some(Verdict::NotMet), Some(Verdict::NotMet))
    );
    assert_eq!(
        (slo.change.baseline, slo.change.current),
        (Some(2.0 / 3.0), Some(0.5))
    );
    assert_eq!(c.slos.len(), 7, "one per (class, objective)");

    let text = report::render_comparison(&c);
    let line = text
        .lines()
        .find(|l| l.starts_with(LC) && l.contains("requests"))
        .unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        [LC, "requests", "4", "5", "+1", "+25.0%"]
    );
    assert!(text.contains("error_rate"), "{text}");
    assert!(text.contains("+15.00pp"), "{text}");
    assert!(text.contains("default (new)"), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.contains("ttft_p50_ms") && l.matches(" -").count() == 4),
        "figures neither side measured are left out:\n{text}"
    );
    assert!(text.contains("success_rate >= 99.50%"), "{text}");
}

#[tokio::test]
async fn the_table_aligns_and_shows_every_figure() {
    let s = seeded().await;
    let r = report::build(s.as_ref(), &window(T + 1000)).await.unwrap();
    let text = report::render_table(&r);
    let main: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("class / target"))
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(
        main.len(),
        1 + 3 + 6,
        "header, three classes, six targets:\n{text}"
    );
    let width = main[0].chars().count();
    assert!(main.iter().all(|l| l.chars().count() == width), "{text}");
    // The target's line within the latency-critical block.
    let row = |label: &str| {
        main.iter()
            .skip_while(|l| !l.starts_with(LC))
            .find(|l| l.trim_start().starts_with(label))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row(OPENAI),
        [
            OPENAI, "4", "25.00%", "25.00%", "0.50", "40.0", "80.0", "80.0", "100.0", "300.0",
            "300.0", "0.375000", "0.000000", "40", "60"
        ]
    );
    assert_eq!(
        row(GROQ),
        [
            GROQ, "0", "-", "-", "-", "-", "-", "-", "-", "-", "-", "0.000000", "0.000000", "0",
            "0"
        ]
    );
    assert!(text.contains("RateLimited=1"), "{text}");
    assert!(text.contains("NOT MET"), "{text}");
    assert!(
        text.contains("unpriced: 1 requests of reasoning-heavy / openai/gpt-4o-mini have no cost"),
        "{text}"
    );
    let slo_line = text
        .lines()
        .find(|l| l.starts_with("default") && l.contains("latency_p95_ms"))
        .unwrap();
    assert_eq!(
        slo_line.split_whitespace().collect::<Vec<_>>(),
        [
            "default",
            "latency_p95_ms",
            "<",
            "250.0",
            "250.0",
            "NOT",
            "MET"
        ]
    );
    eprintln!("{text}");
}
