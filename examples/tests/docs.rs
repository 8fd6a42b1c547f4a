//! The README's config reference and the annotated example stay true: every documented key is
//! accepted, every accepted key is documented, and examples/vipd.toml passes check-config.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use vip_examples::config;

const README: &str = include_str!("../../README.md");
/// vipd's part of the load-balancing page.
const LB_DOC: &str = include_str!("../../docs/load-balancing-vipd.md");
const EXAMPLE: &str = include_str!("../vipd.toml");

const BASE: &str =
    "[[instance]]\nname = \"db\"\ninterface = \"eth0\"\nvrid = 1\nvips = [\"198.51.100.1\"]\n";

/// (README heading marker, config text with KEY where the key goes, error path prefix)
const SECTIONS: &[(&str, &str, &str)] = &[
    ("#### `[global]`", "[global]\nKEY = []\n{BASE}", "global"),
    ("#### `[[instance]]`", "{BASE}KEY = []\n", "instance[db]"),
    (
        "#### `vips` entries",
        "[[instance]]\nname = \"db\"\ninterface = \"eth0\"\nvrid = 1\nvips = [{ address = \"198.51.100.1\", KEY = [] }]\n",
        "instance[db].vips[0]",
    ),
    (
        "#### `[instance.garp]`",
        "{BASE}[instance.garp]\nKEY = []\n",
        "instance[db].garp",
    ),
    (
        "#### `[[instance.check]]`",
        "{BASE}[[instance.check]]\nKEY = []\n",
        "instance[db].check[0]",
    ),
    (
        "#### `[instance.role]`",
        "{BASE}[instance.role]\nKEY = []\n",
        "instance[db].role",
    ),
    (
        "#### `[instance.fencer]`",
        "{BASE}[instance.fencer]\nKEY = []\n",
        "instance[db].fencer",
    ),
    (
        "#### `[instance.etcd]`",
        "{BASE}[instance.etcd]\nKEY = []\n",
        "instance[db].etcd",
    ),
    (
        "#### `[[instance.notify]]`",
        "{BASE}[[instance.notify]]\nKEY = []\n",
        "instance[db].notify[0]",
    ),
];

/// The `[[virtual_server]]` sections of the load-balancing page, as [`SECTIONS`].
const LB_SECTIONS: &[(&str, &str, &str)] = &[
    (
        "#### `[[virtual_server]]`",
        "{BASE}[[virtual_server]]\nname = \"vs\"\nKEY = []\n",
        "virtual_server[vs]",
    ),
    (
        "#### `[[virtual_server.real_server]]`",
        "{BASE}[[virtual_server]]\nname = \"vs\"\n[[virtual_server.real_server]]\nKEY = []\n",
        "virtual_server[vs].real_server[0]",
    ),
    (
        "#### `tcp_check`",
        "{BASE}[[virtual_server]]\nname = \"vs\"\n[[virtual_server.real_server]]\n[virtual_server.real_server.tcp_check]\nKEY = []\n",
        "virtual_server[vs].real_server[0].tcp_check",
    ),
    (
        "#### `misc_check`",
        "{BASE}[[virtual_server]]\nname = \"vs\"\n[[virtual_server.real_server]]\n[virtual_server.real_server.misc_check]\nKEY = []\n",
        "virtual_server[vs].real_server[0].misc_check",
    ),
    (
        "#### `pg_check`",
        "{BASE}[[virtual_server]]\nname = \"vs\"\n[[virtual_server.real_server]]\n[virtual_server.real_server.pg_check]\nKEY = []\n",
        "virtual_server[vs].real_server[0].pg_check",
    ),
];

fn documented_keys_in(doc: &str, heading: &str) -> BTreeSet<String> {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("the document lacks {heading}"));
    let rest = &doc[start + heading.len()..];
    let end = rest
        .find("\n#### ")
        .or_else(|| rest.find("\n### "))
        .unwrap_or(rest.len());
    rest[..end]
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(k, _)| k.to_owned()))
        .collect()
}

fn text(template: &str, key: &str) -> String {
    template.replace("{BASE}", BASE).replace("KEY", key)
}

#[test]
fn readme_documents_exactly_the_accepted_keys() {
    sections_document_exactly_the_accepted_keys(README, SECTIONS);
}

#[test]
fn lb_page_documents_exactly_the_accepted_virtual_server_keys() {
    sections_document_exactly_the_accepted_keys(LB_DOC, LB_SECTIONS);
}

fn sections_document_exactly_the_accepted_keys(doc: &str, sections: &[(&str, &str, &str)]) {
    for (heading, template, path) in sections {
        let documented = documented_keys_in(doc, heading);
        assert!(!documented.is_empty(), "{heading}");
        for key in &documented {
            let Err(errs) = config::parse(&text(template, key)) else {
                continue; // `key = []` happened to be valid, so the key is known
            };
            assert!(
                !errs.has(&format!("{path}.{key}"), "unknown key"),
                "README documents {path}.{key} but the parser rejects it"
            );
        }
        // The parser's own list of keys, from an unknown-key error.
        let errs = config::parse(&text(template, "zzzzzzzzzzzzzzzz")).unwrap_err();
        let msg = errs
            .0
            .iter()
            .find(|e| e.path == format!("{path}.zzzzzzzzzzzzzzzz"))
            .unwrap_or_else(|| panic!("{heading}: {errs}"))
            .message
            .clone();
        let list = msg
            .split_once("expected one of: ")
            .unwrap()
            .1
            .trim_end_matches(')');
        // serde says "`a` or `b`" for two keys, "one of `a`, `b`, ..." for more.
        let accepted: BTreeSet<String> = list
            .replace(" or ", ", ")
            .split(", ")
            .map(str::to_owned)
            .collect();
        assert_eq!(
            documented, accepted,
            "{heading}: README and parser disagree"
        );
    }
}

#[test]
fn annotated_example_is_valid() {
    let c = config::parse(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.instances.len(), 2);
    assert_eq!(c.virtual_servers.len(), 1);
    assert_eq!(c.virtual_servers[0].real_servers.len(), 2);
    let pg = &c.instances[0];
    assert!(pg.role.is_some() && pg.fencer.is_some());
    assert_eq!(pg.checks.len(), 1);
    assert_eq!(pg.notify.len(), 1);
}

#[test]
fn readme_protocol_examples_parse() {
    use vip_examples::control::{Request, Response};
    let start = README.find("### Control socket protocol").unwrap();
    let block = &README[start..];
    let block = &block[..block.find("```\n\n").unwrap()];
    let (mut req, mut resp) = (0, 0);
    for line in block.lines() {
        if let Some(j) = line.strip_prefix("> ") {
            serde_json::from_str::<Request>(j).unwrap_or_else(|e| panic!("{e}: {j}"));
            req += 1;
        } else if let Some(j) = line.strip_prefix("< ") {
            let r = serde_json::from_str::<Response>(j).unwrap_or_else(|e| panic!("{e}: {j}"));
            // Exactly the fields vipd sends: none missing, none made up.
            let documented: serde_json::Value = serde_json::from_str(j).unwrap();
            assert_eq!(serde_json::to_value(&r).unwrap(), documented, "{j}");
            resp += 1;
        }
    }
    assert_eq!((req, resp), (3, 4));
}

/// Metric family names in `text` (`vip_...`, with the histogram suffixes folded).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("vip_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let before = rest[..i].chars().last();
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') && name.len() > 4 {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|f| f.ends_with("_seconds"))
                .unwrap_or(name);
            out.insert(family.to_owned());
        }
        rest = &tail[end.max(1)..];
    }
    out
}

/// A virtual server's row, as the balancer reports it.
fn lb_row() -> vip_examples::control::LbService {
    use vip_examples::control::{LbBackend, LbService};
    LbService {
        name: "mariadb".into(),
        instance: "db".into(),
        protocol: "TCP".into(),
        vip: "198.51.100.217".into(),
        port: 3306,
        scheduler: "wrr".into(),
        active: true,
        quorum_up: true,
        sorry_active: false,
        sorry_server: None,
        backends: vec![LbBackend {
            addr: "198.51.100.218:3306".into(),
            configured_weight: 100,
            weight: 100,
            healthy: true,
            active_connections: 2,
            inactive_connections: 1,
            last_error: None,
        }],
    }
}

/// The families vipd's registry renders (from its `# TYPE` lines), with a load balancer
/// running (its `vip_lb_*` families exist only then).
fn rendered_metrics() -> BTreeSet<String> {
    let metrics = vip_examples::metrics::Metrics::new();
    metrics.set_lb(Some(std::sync::Arc::new(|| vec![lb_row()])));
    metrics
        .render()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// The metric names (`vip_...` in backquotes, labels dropped) of a document's `### Metrics`
/// section.
fn documented_metrics(doc: &str) -> BTreeSet<String> {
    let start = doc.find("### Metrics").unwrap();
    let section = &doc[start..];
    let section = &section[..section[4..].find("\n### ").unwrap() + 4];
    section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("vip_"))
        .map(|s| s.split('{').next().unwrap().to_owned())
        .collect()
}

#[test]
fn readme_documents_exactly_the_rendered_metrics() {
    let documented = documented_metrics(README);
    assert_eq!(
        documented,
        rendered_metrics(),
        "README's metrics and /metrics disagree"
    );
}

#[test]
fn alert_rules_and_dashboard_use_only_rendered_metrics() {
    let rendered = rendered_metrics();
    for (file, text) in [
        (
            "packaging/prometheus/vip-alerts.yml",
            include_str!("../../packaging/prometheus/vip-alerts.yml"),
        ),
        (
            "packaging/grafana/vip-dashboard.json",
            include_str!("../../packaging/grafana/vip-dashboard.json"),
        ),
    ] {
        let used = metric_names(text);
        assert!(!used.is_empty(), "{file}");
        for m in &used {
            assert!(
                rendered.contains(m),
                "{file} uses {m}, which vipd does not export"
            );
        }
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(include_str!("../../packaging/grafana/vip-dashboard.json")).unwrap();
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 6));
}

/// The `lb` request and answer on the load-balancing page parse, carry exactly the fields vipd
/// sends, and render as the page's `vipctl lb` table.
#[test]
fn lb_page_protocol_example_and_table_hold() {
    use vip_examples::control::{Request, Response, lb_table};
    let start = LB_DOC.find("> {\"cmd\":\"lb\"}").unwrap();
    let block = &LB_DOC[start..];
    let block = &block[..block.find("```").unwrap()];
    let mut services = None;
    for line in block.lines() {
        if let Some(j) = line.strip_prefix("> ") {
            assert_eq!(serde_json::from_str::<Request>(j).unwrap(), Request::Lb);
        } else if let Some(j) = line.strip_prefix("< ") {
            let r = serde_json::from_str::<Response>(j).unwrap_or_else(|e| panic!("{e}: {j}"));
            let documented: serde_json::Value = serde_json::from_str(j).unwrap();
            assert_eq!(serde_json::to_value(&r).unwrap(), documented, "{j}");
            let Response::Lb(s) = r else { panic!("{j}") };
            services = Some(s);
        }
    }
    let services = services.unwrap();
    let table_start = LB_DOC.find("Prot LocalAddress:Port").unwrap();
    let table = &LB_DOC[table_start..];
    let table = &table[..table.find("```").unwrap()];
    assert_eq!(lb_table::render(&services), table);
}

/// The `vip_lb_*` families on the load-balancing page are exactly those vipd renders while a
/// balancer runs.
#[test]
fn lb_page_documents_exactly_the_rendered_lb_metrics() {
    let metrics = vip_examples::metrics::Metrics::new();
    metrics.set_lb(Some(std::sync::Arc::new(|| vec![lb_row()])));
    let text = metrics.render();
    assert!(text.contains(
        "vip_lb_backend_connections{service=\"mariadb\",backend=\"198.51.100.218:3306\",state=\"active\"} 2"
    ));
    let rendered: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("vip_lb_"))
        .map(str::to_owned)
        .collect();
    assert_eq!(documented_metrics(LB_DOC), rendered);
    // Without a balancer, none.
    metrics.set_lb(None);
    assert!(!metrics.render().contains("vip_lb_"));
}
