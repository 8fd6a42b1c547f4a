//! The README's config reference and the annotated example stay true: every documented key is
//! accepted, every accepted key is documented, and examples/vipd.toml passes check-config. The
//! guides (docs/recipes/, the keepalived migration, the comparison): every vipd config in them is
//! valid, every test they cite exists, every metric they name is exported, and the README links
//! them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod recipe_support;

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
    assert_eq!((req, resp), (5, 6));
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

/// The README section that starts at `heading`, up to the next `### ` heading.
fn section(heading: &str) -> &'static str {
    let start = README
        .find(heading)
        .unwrap_or_else(|| panic!("README lacks {heading}"));
    let rest = &README[start + heading.len()..];
    &rest[..rest.find("\n### ").unwrap_or(rest.len())]
}

#[test]
fn readme_documents_exactly_the_http_endpoints() {
    let documented: BTreeSet<String> = section("### Health endpoints")
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect();
    let served: BTreeSet<String> = vip_examples::metrics::ENDPOINTS
        .iter()
        .map(|e| (*e).to_owned())
        .collect();
    assert_eq!(documented, served, "README's endpoints and vipd's disagree");
    // Each health endpoint also has its per-instance form in the table.
    for e in ["/primary", "/replica", "/health", "/status"] {
        assert!(
            section("### Health endpoints").contains(&format!("`{e}/INSTANCE`")),
            "{e}/INSTANCE"
        );
    }
}

#[test]
fn readme_documents_every_vipctl_command_flag_and_exit_code() {
    use clap::CommandFactory;
    let cli = vip_examples::cli::vipctl::Cli::command();
    let usage = section("## vipd and vipctl");
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        if name == "repmgr-event" {
            assert!(README.contains("vipctl repmgr-event"));
            continue;
        }
        assert!(
            usage.contains(&format!("vipctl {name}")),
            "README's command list lacks vipctl {name}"
        );
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(
                    README.contains(&format!("--{long}")),
                    "README does not document vipctl {name} --{long}"
                );
            }
        }
    }
    let check = section("### Monitoring check");
    use vip_examples::control::verdict::Level;
    for level in [Level::Ok, Level::Warning, Level::Critical, Level::Unknown] {
        assert!(
            check.contains(&format!("| {} | {}:", level.code(), level.as_str())),
            "{level:?}"
        );
    }
    let usage_code = vip_examples::cli::vipctl::EXIT_USAGE;
    assert!(check.contains(&format!("exit {usage_code} (`EX_USAGE`)")));
    assert!(README.contains(&format!("{usage_code} on a command line it cannot parse")));
}

#[test]
fn readme_documents_every_status_field() {
    use vip_examples::control::{Response, StatusReport};
    let start = README.find("< {\"status\":").unwrap();
    let line = &README[start + 2..];
    let line = &line[..line.find('\n').unwrap()];
    let Response::Status(StatusReport { instances, .. }) = serde_json::from_str(line).unwrap()
    else {
        panic!("not a status answer: {line}");
    };
    let row = serde_json::to_value(&instances[0]).unwrap();
    let prose = section("### Control socket protocol");
    for key in row.as_object().unwrap().keys() {
        // Every field is in the example; the ones an operator reads are explained too.
        if [
            "name",
            "interface",
            "vrid",
            "version",
            "base_priority",
            "effective_priority",
            "master",
            "vips",
            "recorded_primary",
            "last_transition",
            "started_unix_ms",
            "last_error",
        ]
        .contains(&key.as_str())
        {
            continue;
        }
        assert!(
            prose.contains(&format!("`{key}`")),
            "README does not explain status field {key}"
        );
    }
}

#[test]
fn readme_haproxy_example_passes_haproxy_check() {
    let start = README.find("```haproxy\n").unwrap() + "```haproxy\n".len();
    let block = &README[start..];
    let block = &block[..block.find("```").unwrap()];
    let dir = std::env::temp_dir().join(format!("vip-docs-haproxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, block).unwrap();
    let out = match std::process::Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("skipping: haproxy not installed");
            return;
        }
        Err(e) => panic!("haproxy: {e}"),
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "haproxy -c: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The recipes, the migration guide and the comparison (docs/recipes/, docs/*.md).
const GUIDES: &[(&str, &str)] = &[
    (
        "docs/recipes/postgres-repmgr.md",
        include_str!("../../docs/recipes/postgres-repmgr.md"),
    ),
    (
        "docs/recipes/haproxy-pair.md",
        include_str!("../../docs/recipes/haproxy-pair.md"),
    ),
    (
        "docs/recipes/etcd-three-nodes.md",
        include_str!("../../docs/recipes/etcd-three-nodes.md"),
    ),
    (
        "docs/migration-from-keepalived.md",
        include_str!("../../docs/migration-from-keepalived.md"),
    ),
    (
        "docs/comparison.md",
        include_str!("../../docs/comparison.md"),
    ),
];

#[test]
fn recipe_configs_are_valid() {
    let mut checked = 0;
    for (file, text) in GUIDES {
        for (name, config) in recipe_support::blocks(text) {
            if !name.ends_with(".toml") {
                continue;
            }
            checked += 1;
            match config::parse(&config) {
                Ok(c) => assert!(!c.instances.is_empty(), "{file}: {name}"),
                // Without the `etcd` feature, [instance.etcd] is refused with the build hint,
                // and nothing else may be wrong.
                Err(errs) if !cfg!(feature = "etcd") && config.contains("[instance.etcd]") => {
                    for e in &errs.0 {
                        assert!(
                            e.path.ends_with(".etcd") && e.message.contains("--features etcd"),
                            "{file}: {name}: {e}"
                        );
                    }
                }
                Err(errs) => panic!("{file}: {name} is not a valid vipd config:\n{errs}"),
            }
        }
    }
    assert_eq!(checked, 7, "two + two + three recipe configs");
}

/// Every `crate/tests/FILE.rs::NAME` a guide cites is a test that exists, and every relative
/// link in a guide or the README points at a file of the repository.
#[test]
fn guides_cite_existing_tests_and_files() {
    let root = recipe_support::repo();
    let readme = ("README.md", README);
    for (file, text) in GUIDES.iter().chain(std::iter::once(&readme)) {
        let dir = root.join(file).parent().unwrap().to_path_buf();
        for cite in text
            .split(|c: char| c.is_whitespace() || "`()[],;".contains(c))
            .filter(|w| w.contains("/tests/") && w.contains(".rs::"))
        {
            let (path, name) = cite.split_once("::").unwrap();
            let name = name.trim_end_matches(['.', ':']);
            let source = std::fs::read_to_string(root.join(path))
                .unwrap_or_else(|e| panic!("{file} cites {path}: {e}"));
            assert!(
                source.contains(&format!("fn {name}(")),
                "{file} cites {cite}, which is not a test there"
            );
        }
        let mut rest = *text;
        while let Some(i) = rest.find("](") {
            let tail = &rest[i + 2..];
            let target = &tail[..tail.find(')').unwrap()];
            rest = tail;
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let target = target.split('#').next().unwrap();
            assert!(
                dir.join(target).exists(),
                "{file} links {target}, which does not exist"
            );
        }
    }
    for (file, _) in GUIDES {
        assert!(
            README.contains(&format!("]({file})")),
            "README does not link {file}"
        );
    }
}

#[test]
fn guides_name_only_rendered_metrics() {
    let rendered = rendered_metrics();
    for (file, text) in GUIDES {
        // Test functions cited as `FILE.rs::NAME` may start with `vip_` too.
        for m in metric_names(text)
            .into_iter()
            .filter(|m| !text.contains(&format!("::{m}")))
        {
            assert!(
                rendered.contains(&m),
                "{file} names {m}, which vipd does not export"
            );
        }
    }
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
