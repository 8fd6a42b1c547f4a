//! keepalived.conf -> vipd TOML. Everything that cannot be translated is reported as a
//! diagnostic naming the block and line; nothing is dropped silently.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::syntax::{self, Node, split_command};
use super::virtual_server;
use crate::config::values::{format_duration, parse_duration};
use crate::config::{parse_cidr, valid_name};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Translated with a difference that does not change failover behaviour (or ignored
    /// because it has no meaning for vipd).
    Warning,
    /// Not translated: the vipd config does not do what keepalived did.
    Error,
}

/// One thing the importer has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Warning or error.
    pub severity: Severity,
    /// 1-based line in keepalived.conf.
    pub line: usize,
    /// The block it is in, for example `vrrp_instance VI_1`.
    pub block: String,
    /// What happened.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        if self.block.is_empty() {
            write!(f, "{s}: line {}: {}", self.line, self.message)
        } else {
            write!(
                f,
                "{s}: line {}: {}: {}",
                self.line, self.block, self.message
            )
        }
    }
}

/// The importer's result.
#[derive(Debug, Clone)]
pub struct Import {
    /// The vipd config.
    pub toml: String,
    /// Warnings and errors, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Import {
    /// True when something could not be translated.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

#[derive(Debug, Clone, Default)]
struct Script {
    argv: Option<Vec<String>>,
    interval: Option<Duration>,
    timeout: Option<Duration>,
    weight: Option<i64>,
    rise: Option<i64>,
    fall: Option<i64>,
}

#[derive(Debug, Clone, Default)]
struct Garp {
    repeat: Option<i64>,
    interval: Option<Duration>,
    na_interval: Option<Duration>,
    refresh: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(super) struct VipOut {
    pub(super) cidr: String,
    dev: Option<String>,
    label: Option<String>,
    pub(super) ipv6: bool,
}

#[derive(Debug, Clone, Default)]
pub(super) struct InstanceOut {
    pub(super) name: String,
    line: usize,
    interface: Option<String>,
    vrid: Option<String>,
    version: u8,
    priority: Option<String>,
    advert: Option<String>,
    preempt: bool,
    preempt_delay: Option<Duration>,
    source: Option<String>,
    peers: Vec<String>,
    auth: Option<String>,
    pub(super) vips: Vec<VipOut>,
    checks: Vec<(String, Script)>,
    notify: Vec<(Vec<String>, &'static str, String)>,
    garp: Garp,
    pub(super) comments: Vec<String>,
}

impl VipOut {
    /// A host VIP added to an instance by the importer.
    pub(super) fn host(addr: std::net::IpAddr) -> Self {
        VipOut {
            cidr: addr.to_string(),
            dev: None,
            label: None,
            ipv6: addr.is_ipv6(),
        }
    }
}

pub(super) struct Ctx {
    diags: Vec<Diagnostic>,
}

impl Ctx {
    pub(super) fn warn(&mut self, line: usize, block: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Warning,
            line,
            block: block.to_owned(),
            message: message.into(),
        });
    }

    pub(super) fn error(&mut self, line: usize, block: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            line,
            block: block.to_owned(),
            message: message.into(),
        });
    }

    pub(super) fn not_translated(&mut self, n: &Node, block: &str, why: &str) {
        self.error(n.line, block, format!("{}: not translated: {why}", n.key));
    }

    pub(super) fn int(&mut self, n: &Node, block: &str) -> Option<i64> {
        match n.arg().and_then(|a| a.parse::<i64>().ok()) {
            Some(v) => Some(v),
            None => {
                self.error(
                    n.line,
                    block,
                    format!("{}: expected an integer, got {:?}", n.key, n.args.join(" ")),
                );
                None
            }
        }
    }

    pub(super) fn secs(&mut self, n: &Node, block: &str) -> Option<Duration> {
        let a = n.arg().unwrap_or("");
        match parse_duration(a) {
            Ok(d) => Some(d),
            Err(_) => {
                self.error(
                    n.line,
                    block,
                    format!("{}: expected seconds, got {a:?}", n.key),
                );
                None
            }
        }
    }
}

/// Translates a keepalived.conf's text. `source_name` is used in the header comment.
pub fn import(text: &str, source_name: &str) -> Import {
    let mut ctx = Ctx { diags: Vec::new() };
    let tree = match syntax::parse(text) {
        Ok(t) => t,
        Err(e) => {
            ctx.error(e.line, "", e.message);
            return Import {
                toml: String::new(),
                diagnostics: ctx.diags,
            };
        }
    };

    let mut default_version = 2u8;
    let mut global_garp = Garp::default();
    let mut scripts: BTreeMap<String, (usize, Script)> = BTreeMap::new();
    for n in &tree {
        match n.key.as_str() {
            "global_defs" => global_defs(&mut ctx, n, &mut default_version, &mut global_garp),
            "vrrp_script" => {
                if let Some(name) = n.arg() {
                    let block = format!("vrrp_script {name}");
                    let s = script(&mut ctx, n, &block);
                    scripts.insert(name.to_owned(), (n.line, s));
                } else {
                    ctx.error(n.line, "vrrp_script", "has no name");
                }
            }
            _ => {}
        }
    }

    let mut instances = Vec::new();
    let mut services = Vec::new();
    for n in &tree {
        match n.key.as_str() {
            "global_defs" | "vrrp_script" => {}
            "virtual_server" => {
                if let Some(vs) = virtual_server::read(&mut ctx, n) {
                    services.push(vs);
                }
            }
            "vrrp_instance" => {
                if let Some(i) = instance(&mut ctx, n, default_version, &global_garp, &scripts) {
                    instances.push(i);
                }
            }
            "vrrp_sync_group" => ctx.not_translated(n, "", "vipd has no sync groups; instances fail over independently (give them the same checks and role probe to move together)"),
            "virtual_server_group" => ctx.not_translated(n, "", "virtual server groups are not supported; write one virtual_server per address and port"),
            "static_ipaddress" | "static_routes" | "static_rules" => ctx.not_translated(n, "", "vipd manages only VIPs; configure static addresses and routes with the system's network config"),
            "include" => ctx.not_translated(n, "", "includes are not followed; concatenate the files and import the result"),
            _ => ctx.not_translated(n, "", "unknown or unsupported top-level block"),
        }
    }
    if instances.is_empty() {
        ctx.error(1, "", "no vrrp_instance could be translated");
    }
    virtual_server::tie(&mut ctx, &mut services, &mut instances);
    // The same script used by several instances and scripts nobody tracks.
    for (name, (line, _)) in &scripts {
        if !instances
            .iter()
            .any(|i| i.checks.iter().any(|(c, _)| c == name))
        {
            ctx.warn(
                *line,
                &format!("vrrp_script {name}"),
                "no instance tracks it; not translated",
            );
        }
    }
    ctx.diags.sort_by_key(|d| d.line);
    Import {
        toml: emit(source_name, &instances) + &virtual_server::emit(&services),
        diagnostics: ctx.diags,
    }
}

fn global_defs(ctx: &mut Ctx, n: &Node, version: &mut u8, garp: &mut Garp) {
    let b = "global_defs";
    for c in n.children() {
        match c.key.as_str() {
            "vrrp_version" => match c.arg() {
                Some("2") => *version = 2,
                Some("3") => *version = 3,
                _ => ctx.error(c.line, b, format!("vrrp_version: {:?} is not 2 or 3", c.args.join(" "))),
            },
            "router_id" => ctx.warn(c.line, b, "router_id: ignored (vipd names instances; it has no router id)"),
            "enable_script_security" => ctx.warn(c.line, b, "enable_script_security: ignored (vipd never runs a shell; checks, hooks and the fencer run as vipd's user)"),
            "script_user" => ctx.not_translated(c, b, "vipd runs commands as its own user (use a wrapper such as runuser in argv)"),
            "vrrp_garp_master_delay" | "vrrp_gna_master_delay" => garp_delay(ctx, c, b),
            "vrrp_garp_master_repeat" | "vrrp_gna_master_repeat" => garp.repeat = ctx.int(c, b),
            "vrrp_garp_interval" => garp.interval = ctx.secs(c, b),
            "vrrp_gna_interval" => garp.na_interval = ctx.secs(c, b),
            "vrrp_garp_master_refresh" | "vrrp_gna_master_refresh" => garp.refresh = ctx.secs(c, b),
            "vrrp_garp_master_refresh_repeat" | "vrrp_gna_master_refresh_repeat" => {
                if c.arg() != Some("1") {
                    ctx.warn(c.line, b, format!("{}: vipd refreshes with garp.repeat messages", c.key));
                }
            }
            "vrrp_skip_check_adv_addr" => ctx.warn(c.line, b, "vrrp_skip_check_adv_addr: vipd always honours adverts whose VIP list differs, and reports the mismatch in logs and metrics"),
            "vrrp_strict" => ctx.not_translated(c, b, "vipd has no strict mode (it never adds firewall rules)"),
            "notification_email" | "notification_email_from" | "smtp_server" | "smtp_connect_timeout" | "smtp_helo_name" => {
                ctx.not_translated(c, b, "vipd sends no mail; use a notify hook")
            }
            _ => ctx.not_translated(c, b, "unknown or unsupported global setting"),
        }
    }
}

fn garp_delay(ctx: &mut Ctx, c: &Node, b: &str) {
    if c.arg() != Some("0") {
        ctx.warn(c.line, b, format!("{}: vipd sends one announcement burst at takeover and no delayed second burst; set garp.refresh for periodic re-announcements", c.key));
    }
}

fn script(ctx: &mut Ctx, n: &Node, b: &str) -> Script {
    let mut s = Script::default();
    for c in n.children() {
        match c.key.as_str() {
            "script" => {
                let cmd = c.args.join(" ");
                match split_command(&cmd) {
                    Ok(a) => s.argv = Some(a),
                    Err(e) => ctx.error(c.line, b, format!("script {cmd:?} {e}: vipd runs checks without a shell; put the command in an executable file and use that")),
                }
            }
            "interval" => s.interval = ctx.secs(c, b),
            "timeout" => s.timeout = ctx.secs(c, b),
            "weight" => {
                s.weight = ctx.int(c, b);
                if c.args.get(1).map(String::as_str) == Some("reverse") {
                    ctx.not_translated(c, b, "weight ... reverse is not supported");
                }
            }
            "rise" => s.rise = ctx.int(c, b),
            "fall" => s.fall = ctx.int(c, b),
            "init_fail" => ctx.warn(
                c.line,
                b,
                "init_fail: ignored (a vipd check has no status until rise or fall results arrive)",
            ),
            "user" => ctx.not_translated(
                c,
                b,
                "vipd runs checks as its own user (use a wrapper such as runuser in argv)",
            ),
            _ => ctx.not_translated(c, b, "unknown vrrp_script setting"),
        }
    }
    if s.argv.is_none() && !n.children().iter().any(|c| c.key == "script") {
        ctx.error(n.line, b, "has no script line");
    }
    s
}

fn instance(
    ctx: &mut Ctx,
    n: &Node,
    default_version: u8,
    global_garp: &Garp,
    scripts: &BTreeMap<String, (usize, Script)>,
) -> Option<InstanceOut> {
    let raw_name = n.arg().unwrap_or("").to_owned();
    let b = format!("vrrp_instance {raw_name}");
    let mut name = raw_name.clone();
    if !valid_name(&name) {
        name = raw_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        if name.is_empty() {
            name = format!("instance_line{}", n.line);
        }
        ctx.warn(
            n.line,
            &b,
            format!("renamed to {name:?} (names are letters, digits, '_', '-', '.')"),
        );
    }
    let mut o = InstanceOut {
        name,
        line: n.line,
        version: default_version,
        preempt: true,
        garp: global_garp.clone(),
        ..Default::default()
    };
    let mut master_state = false;
    let mut auth_type: Option<(usize, String)> = None;
    let mut auth_pass: Option<(usize, String)> = None;
    for c in n.children() {
        match c.key.as_str() {
            "state" => match c.arg() {
                Some("MASTER") => {
                    master_state = true;
                    ctx.warn(c.line, &b, "state MASTER: vipd starts every instance as backup and elects by priority (adverts decide within one master-down interval)");
                }
                Some("BACKUP") => {}
                other => ctx.error(c.line, &b, format!("state {other:?}: expected MASTER or BACKUP")),
            },
            "interface" => o.interface = c.arg().map(str::to_owned),
            "virtual_router_id" => o.vrid = c.arg().map(str::to_owned),
            "priority" => o.priority = c.arg().map(str::to_owned),
            "advert_int" => o.advert = c.arg().map(str::to_owned),
            "version" => match c.arg() {
                Some("2") => o.version = 2,
                Some("3") => o.version = 3,
                _ => ctx.error(c.line, &b, "version: expected 2 or 3"),
            },
            "nopreempt" => o.preempt = false,
            "preempt" => o.preempt = true,
            "preempt_delay" => o.preempt_delay = ctx.secs(c, &b),
            "unicast_src_ip" | "mcast_src_ip" => o.source = c.arg().map(str::to_owned),
            "unicast_peer" => {
                for p in c.children() {
                    o.peers.push(p.key.clone());
                    if !p.args.is_empty() {
                        ctx.not_translated(p, &b, &format!("unicast_peer options {:?} (min_ttl, max_ttl) are not supported; the peer itself is translated", p.args.join(" ")));
                    }
                }
            }
            "authentication" => {
                for a in c.children() {
                    match a.key.as_str() {
                        "auth_type" => auth_type = Some((a.line, a.arg().unwrap_or("").to_owned())),
                        "auth_pass" => auth_pass = Some((a.line, a.arg().unwrap_or("").to_owned())),
                        _ => ctx.not_translated(a, &b, "unknown authentication setting"),
                    }
                }
            }
            "virtual_ipaddress" => {
                for v in c.children() {
                    vip(ctx, v, &b, &mut o);
                }
            }
            "virtual_ipaddress_excluded" => ctx.not_translated(c, &b, "excluded addresses are not supported; put them in a second instance"),
            "track_script" => {
                for t in c.children() {
                    match scripts.get(&t.key) {
                        None => ctx.error(t.line, &b, format!("track_script {}: no vrrp_script of that name", t.key)),
                        Some((_, s)) => {
                            let mut s = s.clone();
                            match t.args.as_slice() {
                                [] => {}
                                [w, v] if w == "weight" => match v.parse::<i64>() {
                                    Ok(v) => s.weight = Some(v),
                                    Err(_) => ctx.error(t.line, &b, format!("track_script {}: weight {v:?} is not an integer", t.key)),
                                },
                                other => ctx.not_translated(t, &b, &format!("track_script options {:?} are not supported", other.join(" "))),
                            }
                            if s.argv.is_some() {
                                o.checks.push((t.key.clone(), s));
                            }
                        }
                    }
                }
            }
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" => {
                let state = match c.key.as_str() {
                    "notify_master" => "master",
                    "notify_backup" => "backup",
                    "notify_fault" => "fault",
                    _ => "initialize",
                };
                let cmd = c.args.join(" ");
                match split_command(&cmd) {
                    Ok(argv) => o.notify.push((argv, state, format!("{} (line {})", c.key, c.line))),
                    Err(e) => ctx.error(c.line, &b, format!("{} {cmd:?} {e}: vipd runs hooks without a shell; put it in an executable file", c.key)),
                }
            }
            "notify" => ctx.not_translated(c, &b, "keepalived passes TYPE NAME STATE PRIORITY as arguments; vipd hooks get VIP_STATE, VIP_PREVIOUS_STATE, VIP_REASON, VIP_INSTANCE in the environment: adapt the script and add an [[instance.notify]] hook"),
            "garp_master_delay" => garp_delay(ctx, c, &b),
            "garp_master_repeat" => o.garp.repeat = ctx.int(c, &b),
            "garp_master_refresh" => o.garp.refresh = ctx.secs(c, &b),
            "garp_interval" => o.garp.interval = ctx.secs(c, &b),
            "gna_interval" => o.garp.na_interval = ctx.secs(c, &b),
            "garp_master_refresh_repeat" => {
                if c.arg() != Some("1") {
                    ctx.warn(c.line, &b, "garp_master_refresh_repeat: vipd refreshes with garp.repeat messages");
                }
            }
            "accept" => {}
            "lvs_sync_daemon_interface" => ctx.not_translated(c, &b, "vipd's balancer (nftables NAT) has no connection table to sync: connections through a failed director are lost, new ones go through the new one"),
            "debug" => ctx.warn(c.line, &b, "debug: ignored (set global.log_level)"),
            "virtual_routes" | "virtual_rules" => ctx.not_translated(c, &b, "vipd manages only VIPs; add routes from a notify hook or the system's network config"),
            "track_interface" => ctx.not_translated(c, &b, "vipd watches only the instance's own interface (it goes to fault when that link is down)"),
            "no_accept" => ctx.not_translated(c, &b, "vipd adds no firewall rules"),
            "smtp_alert" => ctx.not_translated(c, &b, "vipd sends no mail; use a notify hook"),
            _ => ctx.not_translated(c, &b, "unknown or unsupported vrrp_instance setting"),
        }
    }
    if !o.preempt && o.preempt_delay.is_some_and(|d| !d.is_zero()) {
        ctx.warn(
            n.line,
            &b,
            "preempt_delay: dropped, it has no effect with nopreempt (keepalived ignores it too)",
        );
    }
    if o.priority.is_none() && master_state {
        o.priority = Some("255".into());
        o.comments
            .push("keepalived: state MASTER without a priority line means priority 255".into());
    }
    match (auth_type, auth_pass) {
        (None, None) => {}
        (Some((line, t)), _) if !t.eq_ignore_ascii_case("PASS") => ctx.error(
            line,
            &b,
            format!("auth_type {t}: not translated: only PASS is supported"),
        ),
        (_, None) => ctx.error(n.line, &b, "authentication without auth_pass"),
        (_, Some((line, p))) if o.version == 3 => {
            let _ = p;
            ctx.warn(
                line,
                &b,
                "authentication: dropped, as keepalived itself ignores it with VRRPv3",
            );
        }
        (_, Some((line, mut p))) => {
            if p.len() > 8 {
                p.truncate(8);
                ctx.warn(line, &b, "auth_pass: longer than 8 characters; keepalived uses the first 8, and so does the translation");
            }
            o.auth = Some(p);
        }
    }
    if let Some(a) = &o.advert {
        match parse_duration(a) {
            Ok(d) if o.version == 2 && d.as_micros() % 1_000_000 != 0 => ctx.error(
                n.line,
                &b,
                format!("advert_int {a}: VRRPv2 needs whole seconds"),
            ),
            Ok(d) => o.advert = Some(interval_text(d)),
            Err(_) => ctx.error(
                n.line,
                &b,
                format!("advert_int {a:?} is not a number of seconds"),
            ),
        }
    }
    if o.interface.is_none() {
        ctx.error(n.line, &b, "has no interface");
    }
    if o.vrid.is_none() {
        ctx.error(n.line, &b, "has no virtual_router_id");
    }
    if o.vips.is_empty() {
        ctx.error(n.line, &b, "has no translatable virtual_ipaddress");
    }
    Some(o)
}

fn vip(ctx: &mut Ctx, v: &Node, b: &str, o: &mut InstanceOut) {
    let Some((addr, _)) = parse_cidr(&v.key) else {
        ctx.error(
            v.line,
            b,
            format!("virtual_ipaddress {:?} is not an address or CIDR", v.key),
        );
        return;
    };
    let mut out = VipOut {
        cidr: v.key.clone(),
        dev: None,
        label: None,
        ipv6: addr.is_ipv6(),
    };
    let mut it = v.args.iter();
    while let Some(k) = it.next() {
        match (k.as_str(), it.next()) {
            ("dev", Some(d)) => out.dev = Some(d.clone()),
            ("label", Some(l)) => out.label = Some(l.clone()),
            (k, _) => {
                ctx.error(v.line, b, format!("virtual_ipaddress {}: option {k:?} not translated (only dev and label are)", v.key));
                break;
            }
        }
    }
    if let Some(first) = o.vips.first()
        && first.ipv6 != out.ipv6
    {
        ctx.error(v.line, b, format!("virtual_ipaddress {}: not translated: an instance advertises one address family; put it in a second instance", v.key));
        return;
    }
    if out.ipv6 && o.version == 2 {
        ctx.error(
            v.line,
            b,
            format!(
                "virtual_ipaddress {}: IPv6 needs VRRPv3 (vrrp_version 3)",
                v.key
            ),
        );
        return;
    }
    o.vips.push(out);
}

/// An advert interval as the importer writes it: `1s`, `100ms`.
fn interval_text(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else if d.as_micros().is_multiple_of(1000) {
        format!("{}ms", d.as_millis())
    } else {
        format_duration(d)
    }
}

pub(super) fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn emit(source_name: &str, instances: &[InstanceOut]) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# vipd config translated by `vipd import-keepalived` from {source_name}."
    );
    let _ = writeln!(
        t,
        "# Check it with `vipd check-config FILE`. Global settings are left at their defaults."
    );
    for i in instances {
        let _ = writeln!(t);
        let _ = writeln!(t, "# vrrp_instance {} (line {})", i.name, i.line);
        for c in &i.comments {
            let _ = writeln!(t, "# {c}");
        }
        let _ = writeln!(t, "[[instance]]");
        let _ = writeln!(t, "name = {}", q(&i.name));
        if let Some(v) = &i.interface {
            let _ = writeln!(t, "interface = {}", q(v));
        }
        if let Some(v) = &i.vrid {
            let _ = writeln!(t, "vrid = {}", num_or_str(v));
        }
        let _ = writeln!(t, "version = {}", i.version);
        let _ = writeln!(
            t,
            "priority = {}",
            num_or_str(i.priority.as_deref().unwrap_or("100"))
        );
        let _ = writeln!(
            t,
            "advert_interval = {}",
            q(i.advert.as_deref().unwrap_or("1s"))
        );
        if !i.preempt {
            let _ = writeln!(t, "nopreempt = true");
        }
        if let Some(d) = i.preempt_delay
            && !d.is_zero()
            && i.preempt
        {
            let _ = writeln!(t, "preempt_delay = {}", q(&format_duration(d)));
        }
        if let Some(s) = &i.source {
            let _ = writeln!(t, "source = {}", q(s));
        }
        if !i.peers.is_empty() {
            let list: Vec<String> = i.peers.iter().map(|p| q(p)).collect();
            let _ = writeln!(t, "unicast_peers = [{}]", list.join(", "));
        }
        if let Some(p) = &i.auth {
            let _ = writeln!(t, "auth = {{ type = \"pass\", password = {} }}", q(p));
        }
        let vips: Vec<String> = i
            .vips
            .iter()
            .map(|v| {
                let dev = v.dev.as_ref().filter(|d| Some(*d) != i.interface.as_ref());
                if dev.is_none() && v.label.is_none() {
                    q(&v.cidr)
                } else {
                    let mut s = format!("{{ address = {}", q(&v.cidr));
                    if let Some(d) = dev {
                        s.push_str(&format!(", interface = {}", q(d)));
                    }
                    if let Some(l) = &v.label {
                        s.push_str(&format!(", label = {}", q(l)));
                    }
                    s.push_str(" }");
                    s
                }
            })
            .collect();
        let _ = writeln!(t, "vips = [{}]", vips.join(", "));
        let g = &i.garp;
        let na = i.vips.first().is_some_and(|v| v.ipv6);
        let interval = if na {
            g.na_interval.or(g.interval)
        } else {
            g.interval
        };
        if g.repeat.is_some() || interval.is_some() || g.refresh.is_some() {
            let _ = writeln!(t, "\n[instance.garp]");
            if let Some(r) = g.repeat {
                let _ = writeln!(t, "repeat = {r}");
            }
            if let Some(d) = interval {
                let _ = writeln!(t, "interval = {}", q(&format_duration(d)));
            }
            if let Some(d) = g.refresh {
                let _ = writeln!(t, "refresh = {}", q(&format_duration(d)));
            }
        }
        for (name, s) in &i.checks {
            let _ = writeln!(t, "\n[[instance.check]]");
            let _ = writeln!(t, "name = {}", q(name));
            if let Some(a) = &s.argv {
                let list: Vec<String> = a.iter().map(|x| q(x)).collect();
                let _ = writeln!(t, "argv = [{}]", list.join(", "));
            }
            if let Some(d) = s.interval {
                let _ = writeln!(t, "interval = {}", q(&format_duration(d)));
            }
            if let Some(d) = s.timeout {
                let _ = writeln!(t, "timeout = {}", q(&format_duration(d)));
            }
            if let Some(w) = s.weight {
                let _ = writeln!(t, "weight = {w}");
            }
            if let Some(r) = s.rise {
                let _ = writeln!(t, "rise = {r}");
            }
            if let Some(f) = s.fall {
                let _ = writeln!(t, "fall = {f}");
            }
        }
        for (argv, state, from) in &i.notify {
            let _ = writeln!(
                t,
                "\n# from {from}; vipd awaits hooks (10s timeout) instead of forgetting them"
            );
            let _ = writeln!(t, "[[instance.notify]]");
            let list: Vec<String> = argv.iter().map(|x| q(x)).collect();
            let _ = writeln!(t, "argv = [{}]", list.join(", "));
            let _ = writeln!(t, "on = [{}]", q(state));
        }
    }
    t
}

/// Numbers are written as TOML integers; anything else as a string (check-config then names
/// the key).
fn num_or_str(v: &str) -> String {
    match v.parse::<i64>() {
        Ok(n) => n.to_string(),
        Err(_) => q(v),
    }
}
