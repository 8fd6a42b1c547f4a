//! Mapping of kernel errors (errno from netlink or socket calls) to [`vip_core::Error`].

use vip_core::Error;

/// The hint given with every permission error.
pub(crate) const CAP_NET_ADMIN_HINT: &str =
    "grant CAP_NET_ADMIN (systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW)";

/// The hint given when a packet socket cannot be opened.
pub(crate) const CAP_NET_RAW_HINT: &str =
    "grant CAP_NET_RAW (systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW)";

/// The errno carried by an rtnetlink error, if it is a kernel NACK (positive value).
pub(crate) fn netlink_errno(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(msg) => msg.code.map(|c| c.get().abs()),
        _ => None,
    }
}

/// Maps an errno from an operation on `interface` (and optionally `address`) to a typed error.
pub(crate) fn from_errno(
    errno: i32,
    operation: &str,
    interface: &str,
    address: Option<&str>,
    cap_hint: &str,
) -> Error {
    match errno {
        libc::ENODEV => Error::InterfaceNotFound {
            interface: interface.to_string(),
        },
        libc::EPERM | libc::EACCES => Error::PermissionDenied {
            operation: operation.to_string(),
            hint: cap_hint.to_string(),
        },
        libc::EADDRNOTAVAIL => Error::AddressNotAvailable {
            operation: operation.to_string(),
            address: address.unwrap_or("?").to_string(),
            hint: "check that the address and prefix suit the interface".to_string(),
        },
        _ => Error::Os {
            operation: operation.to_string(),
            errno,
            message: std::io::Error::from_raw_os_error(errno).to_string(),
        },
    }
}

/// Maps an rtnetlink error to a typed error.
pub(crate) fn from_netlink(
    err: &rtnetlink::Error,
    operation: &str,
    interface: &str,
    address: Option<&str>,
) -> Error {
    match netlink_errno(err) {
        Some(errno) => from_errno(errno, operation, interface, address, CAP_NET_ADMIN_HINT),
        None => Error::Other {
            operation: operation.to_string(),
            message: err.to_string(),
            transient: matches!(err, rtnetlink::Error::RequestFailed),
        },
    }
}

/// Maps an I/O error (socket calls) to a typed error.
pub(crate) fn from_io(err: &std::io::Error, operation: &str, interface: &str) -> Error {
    match err.raw_os_error() {
        Some(errno) => from_errno(errno, operation, interface, None, CAP_NET_RAW_HINT),
        None => Error::Other {
            operation: operation.to_string(),
            message: err.to_string(),
            transient: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping() {
        assert!(matches!(
            from_errno(libc::ENODEV, "add", "eth9", None, CAP_NET_ADMIN_HINT),
            Error::InterfaceNotFound { interface } if interface == "eth9"
        ));
        let e = from_errno(libc::EPERM, "add", "eth0", None, CAP_NET_ADMIN_HINT);
        assert!(e.to_string().contains("CAP_NET_ADMIN"));
        let e = from_errno(libc::EACCES, "add", "eth0", None, CAP_NET_ADMIN_HINT);
        assert!(matches!(e, Error::PermissionDenied { .. }));
        assert!(matches!(
            from_errno(libc::EADDRNOTAVAIL, "add", "eth0", Some("198.51.100.1"), ""),
            Error::AddressNotAvailable { address, .. } if address == "198.51.100.1"
        ));
        assert!(matches!(
            from_errno(libc::EINVAL, "add", "eth0", None, ""),
            Error::Os { errno, .. } if errno == libc::EINVAL
        ));
    }
}
