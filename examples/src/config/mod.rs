//! vipd's TOML configuration: reading, validating (every error, each naming its key path) and
//! mapping to the library's types.
//!
//! ```
//! let cfg = vip_examples::config::parse(r#"
//!     [[instance]]
//!     name = "db"
//!     interface = "eth0"
//!     vrid = 51
//!     vips = ["198.51.100.10/32"]
//! "#).unwrap();
//! assert_eq!(cfg.instances[0].vrid, 51);
//! ```

mod diff;
mod error;
mod etcd;
mod lenient;
mod raw;
mod types;
mod validate;
pub mod values;
mod virtual_server;

use std::path::Path;

pub use diff::{InstanceChange, InstanceDiff, diff_instances};
pub use error::{ConfigError, ConfigErrors};
pub use etcd::ArbiterConfig;
pub use types::{
    AnnounceConfig, CheckConfig, ChecksumMode, Config, DEFAULT_CONTROL_SOCKET, FencerConfig,
    GarpForm, GlobalConfig, InstanceConfig, LogFormat, NotifyHook, PgCheckConfig, PgRole,
    RealCheckConfig, RealServerConfig, RepmgrNode, RoleConfig, RoleKind, VirtualServerConfig,
};
pub use validate::{parse_cidr, parse_state, placeholders, valid_name};
pub use virtual_server::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DELAY_BEFORE_RETRY, DEFAULT_DELAY_LOOP, DEFAULT_PG_TIMEOUT,
    MAX_WEIGHT,
};

use raw::{RawConfig, RawGlobal, RawInstance};
use validate::Validator;

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::new(
            "",
            format!("cannot read {}: {e}", path.display()),
        )])
    })?;
    parse(&text)
}

/// Validates config text; on failure returns every problem found.
pub fn parse(text: &str) -> Result<Config, ConfigErrors> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        ConfigErrors(vec![ConfigError::new(
            "",
            format!("not valid TOML: {}", e.to_string().trim_end()),
        )])
    })?;
    let mut errors = Vec::new();
    let raw: RawConfig =
        lenient::deserialize(toml::Value::Table(table), "", &mut errors).unwrap_or_default();
    let mut v = Validator { errors };

    let global = match raw.global {
        None => Default::default(),
        Some(g) => {
            let rg: RawGlobal =
                lenient::deserialize(g, "global", &mut v.errors).unwrap_or_default();
            v.global(rg)
        }
    };

    let raw_instances = raw.instance.unwrap_or_default();
    if raw_instances.is_empty() {
        v.errors.push(ConfigError::new(
            "instance",
            "at least one [[instance]] is required",
        ));
    }
    let mut ok = Vec::new();
    for (i, value) in raw_instances.into_iter().enumerate() {
        let path = match value.get("name").and_then(|n| n.as_str()) {
            Some(n) if valid_name(n) => format!("instance[{n}]"),
            _ => format!("instance[{i}]"),
        };
        let Some(ri) = lenient::deserialize::<RawInstance>(value, &path, &mut v.errors) else {
            continue;
        };
        if let Some(inst) = v.instance(&path, ri) {
            ok.push((path, inst));
        }
    }
    v.cross_instance(&ok);
    let virtual_servers =
        virtual_server::validate(raw.virtual_server.unwrap_or_default(), &ok, &mut v.errors);
    if v.errors.is_empty() {
        Ok(Config {
            global,
            instances: ok.into_iter().map(|(_, i)| i).collect(),
            virtual_servers,
        })
    } else {
        Err(ConfigErrors(v.errors))
    }
}
