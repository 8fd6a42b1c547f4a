//! docs/load-balancing.md stays true: the schedulers it lists are the ones accepted, the ones
//! it says cannot be done are refused by name, and the `nft list` output it shows is what the
//! kernel holds for the service it describes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use vip_lb::{KernelRules, NftRules, Protocol, RuleSet, Scheduler, ServiceRules, Target};

const DOC: &str = include_str!("../../docs/load-balancing.md");

/// The text between the line `marker` and the next closing code fence.
fn block_after(marker: &str) -> String {
    let start = DOC
        .find(marker)
        .unwrap_or_else(|| panic!("doc lacks {marker}"));
    let rest = &DOC[start + marker.len()..];
    let open = rest.find("```").unwrap();
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

/// The first column's `code` cells of the table after `marker`.
fn table_names(marker: &str) -> Vec<String> {
    let start = DOC
        .find(marker)
        .unwrap_or_else(|| panic!("doc lacks {marker}"));
    DOC[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .filter_map(|l| {
            let cell = l.split('|').nth(1)?.trim();
            Some(cell.trim_matches('`').to_string())
        })
        .collect()
}

#[test]
fn documented_schedulers_are_the_accepted_ones() {
    let names = table_names("<!-- schedulers -->");
    assert_eq!(names, vec!["rr", "wrr", "sh", "dh"]);
    for n in &names {
        assert_eq!(n.parse::<Scheduler>().unwrap().name(), n);
    }
    let refused = table_names("<!-- cannot -->");
    assert!(refused.len() >= 6, "{refused:?}");
    for n in refused {
        for name in n.split(", ") {
            let name = name.trim_matches('`');
            assert!(
                name.parse::<Scheduler>().is_err(),
                "{name} is documented as refused"
            );
        }
    }
}

#[test]
fn documented_ruleset_is_what_the_kernel_holds() {
    let Some(mut lab) = vip_core::lab::Lab::new_or_skip("lbdocs").unwrap() else {
        return;
    };
    let ns = lab.namespace("lb").unwrap();
    ns.enter(|| {
        let rules = RuleSet {
            services: vec![ServiceRules {
                name: "db".into(),
                vip: "198.51.100.217".parse().unwrap(),
                port: 3306,
                protocol: Protocol::Tcp,
                scheduler: Scheduler::Wrr,
                targets: vec![
                    Target {
                        addr: "203.0.113.2:3306".parse().unwrap(),
                        weight: 200,
                    },
                    Target {
                        addr: "203.0.113.3:3306".parse().unwrap(),
                        weight: 100,
                    },
                ],
            }],
        };
        NftRules::open().unwrap().apply(&rules).unwrap();
    })
    .unwrap();
    let listed = ns
        .run(&["nft", "list", "table", "inet", "vip_lb"])
        .unwrap()
        .replace('\t', "    ");
    let documented = block_after("<!-- nft list -->");
    assert_eq!(listed.trim(), documented.trim(), "kernel:\n{listed}");
}
