//! From the raw sections to the typed [`Config`], collecting every problem with its key path.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vip_core::election::{FencePolicy, State, StopMode, Version};
use vip_core::rules::RouterKey;
use vip_core::{Interval, Priority, Vip};
use vip_node::NodeConfig;
use vip_vrrp::wire::Auth;

use super::error::ConfigError;
use super::raw::{
    RawAuth, RawCheck, RawFencer, RawGarp, RawGlobal, RawInstance, RawNotify, RawRole,
};
use super::types::{
    AnnounceConfig, CheckConfig, ChecksumMode, FencerConfig, GarpForm, GlobalConfig,
    InstanceConfig, LogFormat, NotifyHook, RepmgrNode, RoleConfig, RoleKind,
};
use super::values::{RawDuration, RawVip, format_duration, parse_duration};

/// Default timeout of notify hooks and the fencer.
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
use vip_node::commands::fence::PLACEHOLDERS as FENCE_PLACEHOLDERS;

/// Collects errors while building typed values.
#[derive(Default)]
pub struct Validator {
    /// Everything found so far.
    pub errors: Vec<ConfigError>,
}

impl Validator {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::new(path, message));
    }

    /// `[global]`.
    pub fn global(&mut self, raw: RawGlobal) -> GlobalConfig {
        let mut g = GlobalConfig::default();
        match raw.log_format.as_deref() {
            None | Some("human") => {}
            Some("json") => g.log_format = LogFormat::Json,
            Some("journald") => g.log_format = LogFormat::Journald,
            Some(other) => self.err(
                "global.log_format",
                format!("{other:?} is not a log format (use \"human\", \"json\" or \"journald\")"),
            ),
        }
        if let Some(level) = raw.log_level {
            // A bare word that is not a level is a target directive to tracing, which would
            // silently log nothing: refuse it.
            const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];
            let bare_non_level = level
                .split(',')
                .map(str::trim)
                .find(|d| !d.contains('=') && !LEVELS.contains(&d.to_ascii_lowercase().as_str()));
            if let Some(d) = bare_non_level {
                self.err(
                    "global.log_level",
                    format!("{d:?} is not a level (use off, error, warn, info, debug, trace, or target=level)"),
                );
            } else {
                match tracing_subscriber::EnvFilter::try_new(&level) {
                Ok(_) => g.log_level = level,
                Err(e) => self.err(
                    "global.log_level",
                    format!(
                        "{level:?} is not a log filter ({e}); use error, warn, info, debug or trace"
                    ),
                ),
                }
            }
        }
        if let Some(addr) = raw.metrics_listen {
            match addr.parse::<SocketAddr>() {
                Ok(a) => g.metrics_listen = Some(a),
                Err(_) => self.err(
                    "global.metrics_listen",
                    format!("{addr:?} is not an address:port (for example \"127.0.0.1:9650\" or \"[::1]:9650\")"),
                ),
            }
        }
        if let Some(path) = raw.control_socket {
            if path.is_empty() || !path.starts_with('/') {
                self.err(
                    "global.control_socket",
                    format!("{path:?} must be an absolute path"),
                );
            } else {
                g.control_socket = PathBuf::from(path);
            }
        }
        if let Some(on) = raw.sd_notify {
            g.sd_notify = on;
        }
        g
    }

    fn duration(&mut self, path: &str, raw: Option<&RawDuration>, default: Duration) -> Duration {
        match raw {
            None => default,
            Some(r) => match parse_duration(&r.0) {
                Ok(d) => d,
                Err(e) => {
                    self.err(path, e);
                    default
                }
            },
        }
    }

    fn positive_duration(
        &mut self,
        path: &str,
        raw: Option<&RawDuration>,
        default: Duration,
    ) -> Duration {
        let d = self.duration(path, raw, default);
        if d.is_zero() {
            self.err(path, "must be greater than zero");
            return default;
        }
        d
    }

    fn int_in(&mut self, path: &str, v: Option<i64>, lo: i64, hi: i64, default: i64) -> i64 {
        match v {
            None => default,
            Some(v) if (lo..=hi).contains(&v) => v,
            Some(v) => {
                self.err(path, format!("{v} is out of range {lo}..={hi}"));
                default
            }
        }
    }

    fn argv(&mut self, path: &str, argv: Option<Vec<String>>) -> Vec<String> {
        match argv {
            None => {
                self.err(
                    path,
                    "is required (the program and its arguments, run without a shell)",
                );
                Vec::new()
            }
            Some(a) if a.first().is_none_or(|p| p.trim().is_empty()) => {
                self.err(path, "must start with the program to run");
                Vec::new()
            }
            Some(a) => a,
        }
    }

    /// One `[[instance]]`; `p` is its path (`instance[db]`).
    pub fn instance(&mut self, p: &str, raw: RawInstance) -> Option<InstanceConfig> {
        let before = self.errors.len();
        let name = match raw.name {
            None => {
                self.err(format!("{p}.name"), "is required");
                String::new()
            }
            Some(n) => {
                if !valid_name(&n) {
                    self.err(
                        format!("{p}.name"),
                        format!("{n:?} must be 1 to 64 letters, digits, '_', '-' or '.'"),
                    );
                }
                n
            }
        };
        let interface = match raw.interface {
            None => {
                self.err(format!("{p}.interface"), "is required");
                String::new()
            }
            Some(i) => {
                self.interface_name(&format!("{p}.interface"), &i);
                i
            }
        };
        let vrid = match raw.vrid {
            None => {
                self.err(format!("{p}.vrid"), "is required (1..=255)");
                1
            }
            Some(v) => self.int_in(&format!("{p}.vrid"), Some(v), 1, 255, 1),
        };
        let version = match raw.version {
            None | Some(3) => Version::V3,
            Some(2) => Version::V2,
            Some(v) => {
                self.err(
                    format!("{p}.version"),
                    format!("{v} is not a VRRP version (2 or 3)"),
                );
                Version::V3
            }
        };
        let priority = self.int_in(&format!("{p}.priority"), raw.priority, 1, 255, 100);
        let advert_interval = self.advert_interval(p, version, raw.advert_interval.as_ref());

        let preempt = match (raw.preempt, raw.nopreempt) {
            (Some(a), Some(b)) if a == b => {
                self.err(
                    format!("{p}.nopreempt"),
                    format!("contradicts preempt = {a}; set only one of them"),
                );
                a
            }
            (Some(a), _) => a,
            (None, Some(b)) => !b,
            (None, None) => true,
        };
        let preempt_delay = self.duration(
            &format!("{p}.preempt_delay"),
            raw.preempt_delay.as_ref(),
            Duration::ZERO,
        );
        if preempt_delay > Duration::from_secs(1000) {
            self.err(
                format!("{p}.preempt_delay"),
                format!("{} is longer than 1000s", format_duration(preempt_delay)),
            );
        }
        if !preempt && !preempt_delay.is_zero() {
            self.err(
                format!("{p}.preempt_delay"),
                "has no effect without preempt (remove it or turn preempt on)",
            );
        }

        let vip_lifetime = raw.vip_lifetime.as_ref().map(|r| {
            let key = format!("{p}.vip_lifetime");
            let d = self.duration(&key, Some(r), Duration::from_secs(2));
            if d < Duration::from_secs(2) || d.subsec_nanos() != 0 {
                self.err(
                    key.clone(),
                    format!(
                        "{} is not a whole number of seconds of at least 2 (the kernel counts whole seconds)",
                        format_duration(d)
                    ),
                );
            }
            if d < advert_interval.as_duration() * 3 {
                self.err(
                    key.clone(),
                    format!(
                        "{} is shorter than 3 advert intervals: one late advert would drop the VIPs",
                        format_duration(d)
                    ),
                );
            }
            if raw.etcd.is_some() {
                self.err(
                    key,
                    "conflicts with [instance.etcd], whose deadline sets the lifetime; remove it",
                );
            }
            d
        });

        let vips = self.vips(p, &interface, raw.vips);
        let ipv6 = vips.first().is_some_and(|v| !v.is_ipv4());

        let source = raw.source.as_deref().and_then(|s| {
            let path = format!("{p}.source");
            match s.parse::<IpAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.err(path, format!("{s:?} is not an IP address"));
                    None
                }
            }
        });
        let mut unicast_peers = Vec::new();
        for (i, s) in raw.unicast_peers.unwrap_or_default().iter().enumerate() {
            let path = format!("{p}.unicast_peers[{i}]");
            match s.parse::<IpAddr>() {
                Ok(a) => unicast_peers.push(a),
                Err(_) => self.err(path, format!("{s:?} is not an IP address")),
            }
        }

        let auth = raw.auth.and_then(|a| self.auth(p, version, a));
        let checksum = match raw.v3_ipv4_checksum.as_deref() {
            None => ChecksumMode::PseudoHeader,
            Some(m) => {
                let path = format!("{p}.v3_ipv4_checksum");
                if version == Version::V2 {
                    self.err(
                        &path,
                        "applies to VRRPv3 only (v2 checksums cover the message only)",
                    );
                } else if ipv6 {
                    self.err(
                        &path,
                        "applies to IPv4 only (IPv6 always uses the pseudo-header)",
                    );
                }
                match m {
                    "keepalived" => ChecksumMode::PseudoHeader,
                    "rfc" => ChecksumMode::MessageOnly,
                    other => {
                        self.err(
                            &path,
                            format!(
                                "{other:?} is not a checksum mode (use \"keepalived\" or \"rfc\")"
                            ),
                        );
                        ChecksumMode::PseudoHeader
                    }
                }
            }
        };
        let garp = self.garp(p, raw.garp.unwrap_or_default());
        let on_stop = match raw.on_stop.as_deref() {
            None | Some("release") => StopMode::Release,
            Some("keep") => StopMode::Keep,
            Some(o) => {
                self.err(
                    format!("{p}.on_stop"),
                    format!("{o:?} is not a stop mode (use \"release\" or \"keep\")"),
                );
                StopMode::Release
            }
        };
        let checks = self.checks(p, raw.check.unwrap_or_default());
        let role = raw.role.and_then(|r| self.role(p, r));
        let fencer = raw.fencer.and_then(|f| self.fencer(p, f));
        let arbiter = raw
            .etcd
            .and_then(|e| super::etcd::validate(&format!("{p}.etcd"), e, &mut self.errors));
        let notify = raw
            .notify
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .filter_map(|(i, n)| self.notify(&format!("{p}.notify[{i}]"), n))
            .collect();

        let (fencer, fence_policy) = match fencer {
            Some((f, policy)) => (Some(f), policy),
            None => (None, FencePolicy::IfInUse),
        };
        let node = NodeConfig {
            name,
            interface,
            vrid: u8::try_from(vrid).unwrap_or(1),
            version,
            advert_interval,
            vips,
            priority: Priority::new(u8::try_from(priority).unwrap_or(100)),
            preempt,
            preempt_delay,
            vip_lifetime,
            source,
            unicast_peers,
            // Validation guarantees at most 8 printable bytes.
            auth: auth.map_or(Auth::None, |pw| {
                Auth::simple(pw.as_bytes()).unwrap_or(Auth::None)
            }),
            checksum,
            announce: garp,
            fence_policy,
            on_stop,
            notify,
        };
        // The protocol's rules (families, version, source, peers) are vip-node's, stated once.
        for e in node.protocol_problems() {
            self.err(format!("{p}.{}", e.key), e.problem);
        }
        if self.errors.len() > before {
            return None;
        }
        Some(InstanceConfig {
            node: Arc::new(node),
            checks,
            role,
            fencer,
            arbiter,
        })
    }

    fn interface_name(&mut self, path: &str, name: &str) {
        if name.is_empty()
            || name.len() > 15
            || name == "."
            || name == ".."
            || name
                .chars()
                .any(|c| c == '/' || c.is_whitespace() || c.is_control())
        {
            self.err(
                path,
                format!("{name:?} is not an interface name (1 to 15 characters, no '/' or spaces)"),
            );
        }
    }

    fn advert_interval(
        &mut self,
        p: &str,
        version: Version,
        raw: Option<&RawDuration>,
    ) -> Interval {
        let path = format!("{p}.advert_interval");
        let Some(raw) = raw else {
            return Interval::DEFAULT_ADVERT;
        };
        let d = match parse_duration(&raw.0) {
            Ok(d) => d,
            Err(e) => {
                self.err(path, e);
                return Interval::DEFAULT_ADVERT;
            }
        };
        // The interval each version can carry is a protocol rule stated once, in vip-core.
        match vip_core::rules::advert_interval(version, d) {
            Ok(i) => i,
            Err(e) => {
                let problem = match e {
                    vip_core::Error::Config { problem, .. } => problem,
                    other => other.to_string(),
                };
                self.err(path, problem);
                Interval::DEFAULT_ADVERT
            }
        }
    }

    fn vips(&mut self, p: &str, interface: &str, raw: Option<Vec<RawVip>>) -> Vec<Vip> {
        let raw = match raw {
            None => {
                self.err(format!("{p}.vips"), "is required (at least one VIP)");
                return Vec::new();
            }
            Some(r) if r.is_empty() => {
                self.err(format!("{p}.vips"), "must list at least one VIP");
                return Vec::new();
            }
            Some(r) => r,
        };
        let mut out: Vec<Vip> = Vec::new();
        for (i, rv) in raw.into_iter().enumerate() {
            let path = format!("{p}.vips[{i}]");
            let (cidr, label, dev) = match rv {
                RawVip::Cidr(c) => (c, None, None),
                RawVip::Table(t) => (t.address, t.label, t.interface),
            };
            let Some((addr, prefix_len)) = parse_cidr(&cidr) else {
                self.err(&path, format!("{cidr:?} is not a valid CIDR"));
                continue;
            };
            let dev = match dev {
                Some(d) => {
                    self.interface_name(&format!("{path}.interface"), &d);
                    d
                }
                None => interface.to_owned(),
            };
            if let Some(l) = &label {
                if addr.is_ipv6() {
                    self.err(
                        format!("{path}.label"),
                        "labels exist for IPv4 addresses only",
                    );
                } else if l.len() > 15 || !l.starts_with(dev.as_str()) {
                    self.err(
                        format!("{path}.label"),
                        format!("{l:?} must start with the interface name {dev:?} and be at most 15 characters"),
                    );
                }
            }
            if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
                self.err(&path, format!("{addr} cannot be a VIP"));
                continue;
            }
            if out.iter().any(|v| v.addr == addr) {
                self.err(&path, format!("{addr} is listed twice"));
                continue;
            }
            let mut vip = Vip::with_prefix(addr, prefix_len, dev);
            vip.label = label;
            out.push(vip);
        }
        out
    }

    fn auth(&mut self, p: &str, version: Version, a: RawAuth) -> Option<String> {
        let path = format!("{p}.auth");
        if version == Version::V3 {
            self.err(path, "authentication is VRRPv2 only (RFC 9568 removed it)");
            return None;
        }
        match a.kind.as_deref() {
            None => {}
            Some(k) if k.eq_ignore_ascii_case("pass") => {}
            Some(k) if k.eq_ignore_ascii_case("ah") => {
                self.err(
                    format!("{path}.type"),
                    "AH authentication is not supported (use \"pass\")",
                );
            }
            Some(k) => self.err(
                format!("{path}.type"),
                format!("{k:?} is not supported (use \"pass\")"),
            ),
        }
        match a.password {
            None => {
                self.err(format!("{path}.password"), "is required");
                None
            }
            Some(pw)
                if pw.is_empty() || pw.len() > 8 || !pw.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                self.err(
                    format!("{path}.password"),
                    format!(
                        "must be 1 to 8 printable ASCII characters, got {} characters",
                        pw.chars().count()
                    ),
                );
                None
            }
            Some(pw) => Some(pw),
        }
    }

    fn garp(&mut self, p: &str, g: RawGarp) -> AnnounceConfig {
        let d = AnnounceConfig::default();
        let repeat = self.int_in(
            &format!("{p}.garp.repeat"),
            g.repeat,
            1,
            100,
            i64::from(d.repeat),
        );
        let interval = self.duration(
            &format!("{p}.garp.interval"),
            g.interval.as_ref(),
            d.interval,
        );
        if interval > Duration::from_secs(10) {
            self.err(format!("{p}.garp.interval"), "must be at most 10s");
        }
        let refresh = self.duration(
            &format!("{p}.garp.refresh"),
            g.refresh.as_ref(),
            Duration::ZERO,
        );
        let form = match g.form.as_deref() {
            None | Some("request") => GarpForm::Request,
            Some("reply") => GarpForm::Reply,
            Some("both") => GarpForm::Both,
            Some(o) => {
                self.err(
                    format!("{p}.garp.form"),
                    format!("{o:?} is not a gratuitous ARP form (use \"request\", \"reply\" or \"both\")"),
                );
                GarpForm::Request
            }
        };
        AnnounceConfig {
            garp_form: form,
            repeat: u32::try_from(repeat).unwrap_or(d.repeat),
            interval,
            refresh: (!refresh.is_zero()).then_some(refresh),
        }
    }

    fn checks(&mut self, p: &str, raw: Vec<RawCheck>) -> Vec<CheckConfig> {
        let mut out: Vec<CheckConfig> = Vec::new();
        for (i, c) in raw.into_iter().enumerate() {
            let path = format!("{p}.check[{i}]");
            let name = c.name.unwrap_or_else(|| format!("check{i}"));
            if !valid_name(&name) {
                self.err(
                    format!("{path}.name"),
                    format!("{name:?} must be 1 to 64 letters, digits, '_', '-' or '.'"),
                );
            } else if out.iter().any(|o| o.name == name) {
                self.err(
                    format!("{path}.name"),
                    format!("{name:?} is used by another check"),
                );
            }
            let argv = self.argv(&format!("{path}.argv"), c.argv);
            let interval = self.positive_duration(
                &format!("{path}.interval"),
                c.interval.as_ref(),
                Duration::from_secs(1),
            );
            let timeout =
                self.positive_duration(&format!("{path}.timeout"), c.timeout.as_ref(), interval);
            let weight = self.int_in(&format!("{path}.weight"), c.weight, -253, 253, 0);
            let rise = self.int_in(&format!("{path}.rise"), c.rise, 1, 1000, 1);
            let fall = self.int_in(&format!("{path}.fall"), c.fall, 1, 1000, 1);
            out.push(CheckConfig {
                name,
                argv,
                interval,
                timeout,
                weight: i32::try_from(weight).unwrap_or(0),
                rise: u32::try_from(rise).unwrap_or(1),
                fall: u32::try_from(fall).unwrap_or(1),
            });
        }
        out
    }

    fn role(&mut self, p: &str, r: RawRole) -> Option<RoleConfig> {
        let path = format!("{p}.role");
        let conninfo = match r.conninfo {
            Some(c) if !c.trim().is_empty() => c,
            _ => {
                self.err(format!("{path}.conninfo"), "is required (a libpq connection string, for example \"host=/run/postgresql dbname=postgres\")");
                String::new()
            }
        };
        let kind = match r.kind.as_deref() {
            Some("postgres") => {
                if r.node_name.is_some() {
                    self.err(format!("{path}.node_name"), "is only for kind = \"repmgr\"");
                }
                if r.node_id.is_some() {
                    self.err(format!("{path}.node_id"), "is only for kind = \"repmgr\"");
                }
                Some(RoleKind::Postgres)
            }
            Some("repmgr") => {
                match (r.node_name, r.node_id) {
                    (Some(n), None) if !n.is_empty() => Some(RoleKind::Repmgr {
                        node: RepmgrNode::Name(n),
                    }),
                    (None, Some(id)) if id >= 1 => Some(RoleKind::Repmgr {
                        node: RepmgrNode::Id(id),
                    }),
                    (None, Some(id)) => {
                        self.err(
                            format!("{path}.node_id"),
                            format!("{id} is not a repmgr node id (1 or more)"),
                        );
                        None
                    }
                    (Some(_), Some(_)) => {
                        self.err(&path, "set node_name or node_id, not both");
                        None
                    }
                    _ => {
                        self.err(&path, "kind = \"repmgr\" needs node_name or node_id (this node in repmgr.nodes)");
                        None
                    }
                }
            }
            Some(k) => {
                self.err(
                    format!("{path}.kind"),
                    format!("{k:?} is not a role probe (use \"postgres\" or \"repmgr\")"),
                );
                None
            }
            None => {
                self.err(
                    format!("{path}.kind"),
                    "is required (\"postgres\" or \"repmgr\")",
                );
                None
            }
        };
        let interval = self.positive_duration(
            &format!("{path}.interval"),
            r.interval.as_ref(),
            Duration::from_secs(1),
        );
        let timeout = self.positive_duration(
            &format!("{path}.timeout"),
            r.timeout.as_ref(),
            interval.min(Duration::from_millis(500)),
        );
        // A timeout longer than the interval is fine: probes never overlap, a slow probe only
        // delays the next one.
        let role = RoleConfig {
            kind: kind?,
            conninfo,
            interval,
            timeout,
        };
        // Let the probe itself judge the conninfo (it connects only when it first probes).
        if !role.conninfo.is_empty()
            && let Err(e) = role.build_probe()
        {
            let detail = match e {
                vip_pg::PgError::Config { key, problem } => format!("{key}: {problem}"),
                other => other.to_string(),
            };
            self.err(
                format!("{path}.conninfo"),
                format!("rejected by the probe: {detail}"),
            );
            return None;
        }
        Some(role)
    }

    fn fencer(&mut self, p: &str, f: RawFencer) -> Option<(FencerConfig, FencePolicy)> {
        let path = format!("{p}.fencer");
        let argv = self.argv(&format!("{path}.argv"), f.argv);
        for (i, a) in argv.iter().enumerate() {
            for ph in placeholders(a) {
                if !FENCE_PLACEHOLDERS.contains(&ph.as_str()) {
                    self.err(
                        format!("{path}.argv[{i}]"),
                        format!(
                            "unknown placeholder {{{ph}}} (known: {})",
                            FENCE_PLACEHOLDERS
                                .iter()
                                .map(|p| format!("{{{p}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
        let timeout = self.positive_duration(
            &format!("{path}.timeout"),
            f.timeout.as_ref(),
            DEFAULT_COMMAND_TIMEOUT,
        );
        let policy = match f.policy.as_deref() {
            None | Some("if_in_use") => FencePolicy::IfInUse,
            Some("always") => FencePolicy::Always,
            Some(o) => {
                self.err(
                    format!("{path}.policy"),
                    format!("{o:?} is not a fence policy (use \"if_in_use\" or \"always\")"),
                );
                FencePolicy::IfInUse
            }
        };
        Some((FencerConfig { argv, timeout }, policy))
    }

    fn notify(&mut self, path: &str, n: RawNotify) -> Option<NotifyHook> {
        let argv = self.argv(&format!("{path}.argv"), n.argv);
        let timeout = self.positive_duration(
            &format!("{path}.timeout"),
            n.timeout.as_ref(),
            DEFAULT_COMMAND_TIMEOUT,
        );
        let mut on = Vec::new();
        for (i, s) in n.on.unwrap_or_default().iter().enumerate() {
            match parse_state(s) {
                Some(st) => on.push(st),
                None => self.err(
                    format!("{path}.on[{i}]"),
                    format!("{s:?} is not a state (initialize, backup, claiming, master, fault)"),
                ),
            }
        }
        Some(NotifyHook { argv, timeout, on })
    }

    /// Checks that need every instance: unique names, unique (interface, vrid, family), VIPs
    /// in one instance only.
    pub fn cross_instance(&mut self, instances: &[(String, InstanceConfig)]) {
        // One virtual router per (interface, VRID, family): a protocol rule of vip-core.
        let keys = instances.iter().map(|(_, i)| RouterKey {
            interface: &i.interface,
            vrid: i.vrid,
            ipv6: i.is_ipv6(),
        });
        let conflicts: BTreeMap<usize, usize> =
            vip_core::rules::vrid_conflicts(keys).into_iter().collect();
        let mut names: BTreeMap<&str, &str> = BTreeMap::new();
        let mut vips: BTreeMap<IpAddr, &str> = BTreeMap::new();
        for (index, (path, inst)) in instances.iter().enumerate() {
            if let Some(first) = names.insert(&inst.name, path) {
                self.err(
                    format!("{path}.name"),
                    format!("{:?} is also the name of {first}", inst.name),
                );
            }
            if let Some((first, _)) = conflicts.get(&index).and_then(|f| instances.get(*f)) {
                self.err(
                    format!("{path}.vrid"),
                    format!(
                        "vrid {} on {} ({}) is also used by {first}; each (interface, vrid) pair must be unique per address family",
                        inst.vrid,
                        inst.interface,
                        if inst.is_ipv6() { "IPv6" } else { "IPv4" }
                    ),
                );
            }
            let mut seen = HashSet::new();
            for (i, v) in inst.vips.iter().enumerate() {
                if !seen.insert(v.addr) {
                    continue;
                }
                if let Some(first) = vips.insert(v.addr, path)
                    && first != path
                {
                    self.err(
                        format!("{path}.vips[{i}]"),
                        format!("{} is also a VIP of {first}", v.addr),
                    );
                }
            }
        }
    }
}

/// Instance and check names: 1..=64 of `[A-Za-z0-9_.-]`.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// `addr[/prefix]`; the prefix defaults to the full length.
pub fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = match s.trim().split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s.trim(), None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => max,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u8>().ok()?
        }
        Some(_) => return None,
    };
    if prefix > max || prefix == 0 {
        return None;
    }
    Some((addr, prefix))
}

/// A state name as used in hooks and metrics.
pub fn parse_state(s: &str) -> Option<State> {
    [
        State::Initialize,
        State::Backup,
        State::Claiming,
        State::Master,
        State::Fault,
    ]
    .into_iter()
    .find(|st| st.as_str() == s)
}

/// The `{name}` placeholders in an argv element.
pub fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}
