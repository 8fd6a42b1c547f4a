//! The sd_notify datagram protocol over path and abstract sockets, and the watchdog period.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use vip_examples::sdnotify::{SdNotify, watchdog_period};

fn recv(s: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = s.recv(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn messages_reach_a_path_socket() {
    let dir = std::env::temp_dir().join(format!("vip-examples-sd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notify");
    let _ = std::fs::remove_file(&path);
    let server = UnixDatagram::bind(&path).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let n = SdNotify::from_socket_value(path.as_os_str()).unwrap();
    n.ready("2 instances").unwrap();
    assert_eq!(recv(&server), "READY=1\nSTATUS=2 instances");
    n.watchdog().unwrap();
    assert_eq!(recv(&server), "WATCHDOG=1");
    n.reloading().unwrap();
    assert_eq!(recv(&server), "RELOADING=1");
    n.stopping().unwrap();
    assert_eq!(recv(&server), "STOPPING=1");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn messages_reach_an_abstract_socket() {
    let name = format!("vip-examples-sd-abstract-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let server = UnixDatagram::bind_addr(&addr).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let n = SdNotify::from_socket_value(OsStr::new(&format!("@{name}"))).unwrap();
    n.watchdog().unwrap();
    assert_eq!(recv(&server), "WATCHDOG=1");
}

#[test]
fn sending_to_a_missing_socket_is_an_error_not_a_panic() {
    let n = SdNotify::from_socket_value(OsStr::new("/nonexistent/vip/notify")).unwrap();
    assert!(n.ready("x").is_err());
}

#[test]
fn watchdog_period_is_half_of_watchdog_usec() {
    assert_eq!(
        watchdog_period(Some("2000000"), None, 42),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        watchdog_period(Some("2000000"), Some("42"), 42),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        watchdog_period(Some("2000000"), Some("43"), 42),
        None,
        "meant for another process"
    );
    assert_eq!(watchdog_period(None, None, 42), None);
    assert_eq!(watchdog_period(Some("0"), None, 42), None);
    assert_eq!(watchdog_period(Some("junk"), None, 42), None);
}
