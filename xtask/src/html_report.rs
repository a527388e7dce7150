//! One self-contained HTML page per audit: the verdict and its reasons, the machine, the gate
//! and scenario tables, the comparison with a base revision when there is one, and the plots
//! inline — rendered from the audit like the Markdown reports, with no script and no external
//! resource.

use crate::against_report;
use crate::format::{interval, num};
use ironforge::gate::audit::{AuditRun, GateRow};
use ironforge::gate::record::{RecordKind, Verdict};

/// The page.
pub const HTML: &str = "release_check.html";

/// `text` with the characters HTML gives a meaning escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table: escaped header and cells; a cell's class, when given, marks a verdict.
fn table(head: &[&str], rows: &[Vec<(String, Option<&str>)>]) -> String {
    let mut s = String::from("<table>\n<thead><tr>");
    for h in head {
        s.push_str(&format!("<th>{}</th>", escape(h)));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        s.push_str("<tr>");
        for (cell, class) in r {
            match class {
                Some(c) => s.push_str(&format!("<td class=\"{c}\">{}</td>", escape(cell))),
                None => s.push_str(&format!("<td>{}</td>", escape(cell))),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
    s
}

fn plain(text: String) -> (String, Option<&'static str>) {
    (text, None)
}

fn verdict_cell(v: Verdict) -> (String, Option<&'static str>) {
    match v {
        Verdict::Pass => ("PASS".into(), Some("pass")),
        Verdict::Fail => ("FAIL".into(), Some("fail")),
    }
}

fn gate_rows(rows: &[&GateRow]) -> String {
    let body: Vec<Vec<(String, Option<&str>)>> = rows
        .iter()
        .map(|g| {
            let r = &g.record;
            vec![
                plain(r.name.clone()),
                plain(r.metric.clone()),
                plain(format!("{} {} {}", r.comparator, num(r.threshold), r.unit)),
                plain(format!("{} {}", num(r.value), r.unit)),
                plain(interval(r.interval)),
                plain(num(r.margin)),
                plain(crate::render::proof_cell(g.proof_status).to_string()),
                verdict_cell(g.release_verdict),
            ]
        })
        .collect();
    table(&["name", "metric", "target", "actual", "95% interval", "margin", "proof", "verdict"], &body)
}

/// The page. `plots` are the rendered SVG documents (name, markup), placed inline in order.
pub fn page(audit: &AuditRun, generated_from: &str, plots: &[(&str, &str)]) -> String {
    let overall = audit.compute_overall();
    let word = if overall.passed() { "PASS" } else { "FAIL" };
    let class = if overall.passed() { "pass" } else { "fail" };
    let m = &audit.machine;
    let flags: Vec<String> =
        m.cpu_flags.iter().map(|(f, on)| format!("{f} {}", if *on { "yes" } else { "no" })).collect();
    let mut s = format!(
        "{generated_from}<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Release check: {word}</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em; }}\n\
         table {{ border-collapse: collapse; margin-bottom: 1.5em; }}\n\
         th, td {{ border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: left; }}\n\
         .pass {{ color: #14632b; font-weight: bold; }}\n.fail {{ color: #a4161a; font-weight: bold; }}\n\
         </style>\n</head>\n<body>\n<h1>Release check: <span class=\"{class}\">{word}</span>{}</h1>\n",
        if audit.partial { " (partial)" } else { "" }
    );
    if !overall.reasons.is_empty() {
        s.push_str("<ul>\n");
        for reason in &overall.reasons {
            s.push_str(&format!("<li>{}</li>\n", escape(reason)));
        }
        s.push_str("</ul>\n");
    }
    s.push_str(&format!(
        "<p>Commit <code>{}</code>, tier <code>{}</code>. Machine: {}, {} logical cores, {}; {}.</p>\n",
        escape(audit.git.commit.as_deref().unwrap_or("unknown")),
        escape(&audit.config.tier.to_string()),
        escape(&m.cpu_model),
        m.logical_cores,
        escape(&flags.join(", ")),
        escape(&m.os)
    ));
    for (title, kind) in [("Gates", RecordKind::Gate), ("Scenarios", RecordKind::Scenario)] {
        let rows: Vec<&GateRow> = audit.gates.iter().filter(|g| g.record.kind == kind).collect();
        if !rows.is_empty() {
            s.push_str(&format!("<h2>{title}</h2>\n"));
            s.push_str(&gate_rows(&rows));
        }
    }
    if let Some(c) = &audit.comparison {
        s.push_str(&format!(
            "<h2>Against <code>{}</code> (<code>{}</code>)</h2>\n",
            escape(&c.against),
            escape(&c.base_commit[..c.base_commit.len().min(12)])
        ));
        let body: Vec<Vec<(String, Option<&str>)>> = c
            .rows
            .iter()
            .map(|r| {
                let word = against_report::verdict(r.verdict, c.allow_underpowered);
                let fails = r.verdict.fails(c.allow_underpowered);
                vec![
                    plain(format!("{}/{}", r.gate, r.metric)),
                    plain(format!("{} {}", num(r.ratio), interval(Some(r.interval)))),
                    plain(format!("{}%", num(r.mde * 100.0))),
                    plain(format!("{}%", num(r.tolerance * 100.0))),
                    (word.to_string(), Some(if fails { "fail" } else { "pass" })),
                ]
            })
            .collect();
        s.push_str(&table(&["subject", "A/B speed ratio [95% interval]", "MDE", "tolerance", "verdict"], &body));
    }
    for (name, svg) in plots {
        s.push_str(&format!("<h2>{}</h2>\n<figure>\n{svg}\n</figure>\n", escape(name)));
    }
    s.push_str("</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn escaping_covers_what_html_reads() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn the_page_holds_every_row_the_verdict_and_the_plots() {
        let a = testdata::audit(true);
        let html = page(
            &a,
            "<!-- head -->\n",
            &[("one.svg", "<svg id=\"one\"></svg>"), ("two.svg", "<svg id=\"two\"></svg>")],
        );
        assert!(html.starts_with("<!-- head -->\n<!DOCTYPE html>"), "{html}");
        assert!(html.contains("<title>Release check: PASS</title>"));
        for g in &a.gates {
            assert!(html.contains(&format!("<td>{}</td>", g.record.name)), "{}", g.record.name);
        }
        assert!(html.contains("<svg id=\"one\"></svg>") && html.contains("<svg id=\"two\"></svg>"));
        assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="), "self-contained");
        assert!(html.ends_with("</html>\n"));
    }

    /// A headless Chromium, when one is installed (`.ci/run` installs Debian's where it can).
    fn chromium() -> Option<&'static str> {
        let found = ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
        if found.is_none() {
            eprintln!("skipped: no headless Chromium (chromium, chromium-browser or google-chrome) on PATH");
        }
        found
    }

    /// Runs `browser` headless on `file` with `args` and returns its stdout.
    fn headless(browser: &str, file: &std::path::Path, args: &[&str]) -> String {
        let out = std::process::Command::new(browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
            .args(args)
            .arg(format!("file://{}", file.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{browser}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// What a browser shows of a failing run's page: every gate's name as visible text, the
    /// failing cell in the failure colour, each plot laid out with a size, the verdict in the
    /// title; a screenshot in `target/html-report/` to look at. A probe script is appended to a
    /// copy (the page itself has none) and writes what it measured into the DOM Chromium dumps.
    #[test]
    fn a_headless_browser_shows_the_rows_the_failure_and_the_plots() {
        let Some(browser) = chromium() else { return };
        let _alone = crate::tiny_fixture::exclusive();
        let mut failing = testdata::measurements(false);
        let r = failing.records.iter_mut().find(|r| r.name == "peak_memory").unwrap();
        (r.value, r.bound, r.margin, r.verdict) = (90.0, 90.0, -20.0, Verdict::Fail);
        let base = testdata::audit(false);
        let a = AuditRun::from_measurements(&failing, testdata::machine(), base.git, base.config).unwrap();
        let plot = r##"<svg xmlns="http://www.w3.org/2000/svg" width="320" height="120"><rect width="300" height="100" fill="#36c"/></svg>"##;
        let html = page(&a, "", &[("one.svg", plot), ("two.svg", plot)]);
        let out = crate::release_check::workspace_root().join("target/html-report");
        std::fs::create_dir_all(&out).unwrap();
        let shown = out.join("release_check.html");
        std::fs::write(&shown, &html).unwrap();
        let shot = out.join("release_check.png");
        let _ = std::fs::remove_file(&shot);
        headless(browser, &shown, &[&format!("--screenshot={}", shot.display()), "--window-size=1280,1600"]);
        let png = std::fs::read(&shot).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a screenshot of the page, {} bytes", png.len());

        let probe = "<script>const q = s => [...document.querySelectorAll(s)];\n\
            document.body.setAttribute('data-probe', JSON.stringify({ title: document.title, \
            text: document.body.innerText, \
            fail: q('td.fail').map(td => getComputedStyle(td).color), \
            plots: q('figure svg').map(e => e.getBoundingClientRect().width * e.getBoundingClientRect().height) }));\n</script>";
        let probed = out.join("release_check.probe.html");
        std::fs::write(&probed, html.replace("</body>", &format!("{probe}</body>"))).unwrap();
        let dom = headless(browser, &probed, &["--dump-dom"]);
        let attr = dom.split("data-probe=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("the probe ran");
        let json = attr.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
        let seen: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(seen["title"], "Release check: FAIL");
        let text = seen["text"].as_str().unwrap();
        for g in &a.gates {
            assert!(text.contains(&g.record.name), "{} is not shown", g.record.name);
        }
        let fail: Vec<&str> = seen["fail"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        assert!(!fail.is_empty() && fail.iter().all(|c| *c == "rgb(164, 22, 26)"), "{fail:?}");
        let plots: Vec<f64> = seen["plots"].as_array().unwrap().iter().map(|a| a.as_f64().unwrap()).collect();
        assert_eq!(plots, [320.0 * 120.0, 320.0 * 120.0], "both plots laid out at their size");
    }

    #[test]
    fn a_failing_run_and_a_comparison_show() {
        let mut failing = testdata::measurements(false);
        let r = failing.records.iter_mut().find(|r| r.name == "peak_memory").unwrap();
        (r.value, r.bound, r.margin, r.verdict) = (90.0, 90.0, -20.0, Verdict::Fail);
        let base = testdata::audit(false);
        let mut a = AuditRun::from_measurements(&failing, testdata::machine(), base.git, base.config).unwrap();
        let root = crate::release_check::workspace_root();
        a.comparison =
            Some(serde_json::from_slice(&std::fs::read(root.join("docs/examples/against-run.json")).unwrap()).unwrap());
        let html = page(&a, "", &[]);
        assert!(html.contains("<title>Release check: FAIL</title>"));
        assert!(html.contains("<td class=\"fail\">FAIL</td>"), "the failing row is marked");
        for reason in a.compute_overall().reasons {
            assert!(html.contains(&format!("<li>{}</li>", escape(&reason))), "{reason}");
        }
        for r in &a.comparison.as_ref().unwrap().rows {
            assert!(html.contains(&format!("<td>{}/{}</td>", r.gate, r.metric)));
        }
    }
}
