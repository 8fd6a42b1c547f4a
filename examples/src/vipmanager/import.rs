//! vip-manager's settings, one by one, into vipd's TOML.

use crate::keepalived::{Diagnostic, Import, Severity};

use super::yaml::{self, Entry, Value};

const BLOCK: &str = "vip-manager";

/// Current name of a key (vip-manager 1.x spelled some differently).
fn canonical(key: &str) -> &str {
    match key {
        "key" => "trigger-key",
        "nodename" => "trigger-value",
        "iface" => "interface",
        "endpoints" | "endpoint" => "dcs-endpoints",
        "type" | "endpoint_type" => "dcs-type",
        other => other,
    }
}

fn quote(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// A netmask as prefix bits: `24` or `255.255.255.0`.
fn prefix_bits(mask: &str) -> Option<u8> {
    if let Ok(n) = mask.parse::<u8>() {
        return (n <= 128).then_some(n);
    }
    let ip: std::net::Ipv4Addr = mask.parse().ok()?;
    let bits = u32::from(ip);
    (bits.leading_ones() + bits.trailing_zeros() == 32).then(|| bits.leading_ones() as u8)
}

/// Translates vip-manager's YAML into a vipd config with one instance following Patroni.
pub fn import(text: &str) -> Import {
    let (entries, bad) = yaml::parse(text);
    let mut diags = Vec::new();
    let mut diag = |severity, line, message: String| {
        diags.push(Diagnostic {
            severity,
            line,
            block: BLOCK.into(),
            message,
        })
    };
    for (line, raw) in bad {
        diag(
            Severity::Error,
            line,
            format!("cannot read `{}` (vip-manager's YAML is flat)", raw.trim()),
        );
    }
    let mut get = std::collections::BTreeMap::new();
    for Entry { line, key, value } in entries {
        let name = canonical(&key).to_string();
        if name != key {
            diag(
                Severity::Warning,
                line,
                format!("`{key}` is vip-manager 1.x's name for `{name}`"),
            );
        }
        get.insert(name, (line, value));
    }
    let scalar = |k: &str| match get.get(k) {
        Some((_, Value::Scalar(s))) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let line_of = |k: &str| get.get(k).map(|(l, _)| *l).unwrap_or(0);

    let mut known = vec![
        "interval",
        "trigger-key",
        "trigger-value",
        "ip",
        "netmask",
        "interface",
        "dcs-type",
        "dcs-endpoints",
        "etcd-user",
        "etcd-password",
        "etcd-ca-file",
        "etcd-cert-file",
        "etcd-key-file",
        "hosting-type",
    ];
    // Settings with no vipd meaning.
    for (k, why) in [
        (
            "retry-num",
            "vipd bounds each etcd request by etcd.request_timeout and retries on the next interval",
        ),
        (
            "retry-after",
            "vipd bounds each etcd request by etcd.request_timeout and retries on the next interval",
        ),
        ("verbose", "set [global] log_level instead"),
        ("consul-token", "vipd follows etcd only"),
    ] {
        known.push(k);
        if get.contains_key(k) {
            diag(
                Severity::Warning,
                line_of(k),
                format!("`{k}` ignored: {why}"),
            );
        }
    }
    for (k, (line, _)) in &get {
        if !known.contains(&k.as_str()) {
            diag(
                Severity::Warning,
                *line,
                format!("`{k}` is not a vip-manager setting vipd knows; ignored"),
            );
        }
    }

    match scalar("dcs-type").as_deref() {
        None | Some("etcd") | Some("etcd3") => {}
        Some(other) => diag(
            Severity::Error,
            line_of("dcs-type"),
            format!("dcs-type `{other}` is not translated: vipd follows Patroni in etcd only"),
        ),
    }
    if let Some(h) = scalar("hosting-type").filter(|h| h != "basic") {
        diag(
            Severity::Error,
            line_of("hosting-type"),
            format!(
                "hosting-type `{h}` is not translated: vipd adds the address on the interface (basic)"
            ),
        );
    }

    let (namespace, scope) = match scalar("trigger-key") {
        Some(k) => match k.strip_suffix("/leader").and_then(|p| p.rsplit_once('/')) {
            Some((ns, scope)) if !scope.is_empty() => (
                if ns.is_empty() {
                    "/".to_string()
                } else {
                    ns.to_string()
                },
                scope.to_string(),
            ),
            _ => {
                diag(
                    Severity::Error,
                    line_of("trigger-key"),
                    format!(
                        "trigger-key `{k}` is not a Patroni leader key (/<namespace>/<scope>/leader)"
                    ),
                );
                ("/service".into(), "postgres".into())
            }
        },
        None => {
            diag(
                Severity::Error,
                0,
                "no trigger-key: which Patroni cluster to follow?".into(),
            );
            ("/service".into(), "postgres".into())
        }
    };
    let vip = match (scalar("ip"), scalar("netmask")) {
        (Some(ip), mask) => {
            let default = if ip.contains(':') { 128 } else { 32 };
            let bits = match mask {
                None => default,
                Some(m) => prefix_bits(&m).unwrap_or_else(|| {
                    diag(
                        Severity::Error,
                        line_of("netmask"),
                        format!("netmask `{m}` is not a prefix length or mask"),
                    );
                    default
                }),
            };
            format!("{ip}/{bits}")
        }
        (None, _) => {
            diag(Severity::Error, 0, "no ip: which address to manage?".into());
            String::new()
        }
    };
    let interface = scalar("interface").unwrap_or_else(|| {
        diag(Severity::Error, 0, "no interface".into());
        String::new()
    });
    let endpoints: Vec<String> = match get.get("dcs-endpoints") {
        Some((_, Value::List(l))) => l.clone(),
        Some((_, Value::Scalar(s))) => s.split(',').map(|e| e.trim().to_string()).collect(),
        None => vec!["http://127.0.0.1:2379".into()],
    }
    .into_iter()
    .filter(|e| !e.is_empty())
    .map(|e| {
        if e.contains("://") {
            e
        } else {
            format!("http://{e}")
        }
    })
    .collect();
    let interval = match scalar("interval") {
        None => "1s".to_string(),
        Some(ms) if ms.parse::<u64>().is_ok_and(|n| n > 0) => format!("{ms}ms"),
        Some(other) => {
            diag(
                Severity::Error,
                line_of("interval"),
                format!("interval `{other}` is not milliseconds"),
            );
            "1s".into()
        }
    };
    let name: String = scope
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();

    let mut t = String::new();
    t.push_str("# Translated from vip-manager's YAML by `vipd import-vip-manager`.\n");
    t.push_str(
        "# vip-manager has no VRRP: vrid 51 is a placeholder; choose one unique on this segment,\n",
    );
    t.push_str(
        "# the same on every node of the cluster. vipd holds the VIP only while Patroni's leader\n",
    );
    t.push_str(
        "# key names this member; add [instance.role] (kind = \"postgres\") to also require\n",
    );
    t.push_str("# pg_is_in_recovery() = false.\n\n");
    t.push_str("[[instance]]\n");
    t.push_str(&format!("name = {}\n", quote(&name)));
    t.push_str(&format!("interface = {}\n", quote(&interface)));
    t.push_str("vrid = 51\n");
    t.push_str(&format!("vips = [{}]\n\n", quote(&vip)));
    t.push_str("[instance.etcd]\n");
    t.push_str(&format!(
        "endpoints = [{}]\n",
        endpoints
            .iter()
            .map(|e| quote(e))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    match scalar("trigger-value") {
        Some(m) => t.push_str(&format!("member = {}\n", quote(&m))),
        None => t.push_str("# member: the host name (vip-manager's default trigger-value too)\n"),
    }
    if let Some(u) = scalar("etcd-user") {
        t.push_str(&format!("user = {}\n", quote(&u)));
    }
    if let Some(p) = scalar("etcd-password") {
        t.push_str(&format!("password = {}\n", quote(&p)));
    }
    if let Some(ca) = scalar("etcd-ca-file") {
        t.push_str("\n[instance.etcd.tls]\n");
        t.push_str(&format!("ca = {}\n", quote(&ca)));
        if let Some(c) = scalar("etcd-cert-file") {
            t.push_str(&format!("cert = {}\n", quote(&c)));
        }
        if let Some(k) = scalar("etcd-key-file") {
            t.push_str(&format!("key = {}\n", quote(&k)));
        }
    } else if scalar("etcd-cert-file").is_some() || scalar("etcd-key-file").is_some() {
        diag(
            Severity::Error,
            line_of("etcd-cert-file").max(line_of("etcd-key-file")),
            "a client certificate without etcd-ca-file: vipd needs the CA to check etcd".into(),
        );
    }
    t.push_str("\n[instance.etcd.patroni]\n");
    t.push_str(&format!("namespace = {}\n", quote(&namespace)));
    t.push_str(&format!("scope = {}\n", quote(&scope)));
    t.push_str(&format!("interval = {}\n", quote(&interval)));
    diags.sort_by_key(|d| d.line);
    Import {
        toml: t,
        diagnostics: diags,
    }
}
