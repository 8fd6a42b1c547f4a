//! VRRPv2 authentication (RFC 3768 section 5.3.6): none or simple text.

use super::WireError;

/// VRRPv2 authentication. VRRPv3 carries none, so v3 [`crate::wire::Repr`]s use [`Auth::None`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Auth {
    /// No authentication (type 0). The 8 authentication bytes are sent as zeros and ignored on
    /// receipt.
    #[default]
    None,
    /// Simple text password (type 1): the 8 authentication bytes as sent, a password of up to
    /// 8 bytes padded with zeros (keepalived pads `auth_pass 1111` this way).
    Simple([u8; 8]),
}

impl Auth {
    /// Wire type 0: no authentication.
    pub const TYPE_NONE: u8 = 0;
    /// Wire type 1: simple text password (keepalived's `auth_type PASS`).
    pub const TYPE_SIMPLE: u8 = 1;
    /// Wire type 2: IP Authentication Header (removed by RFC 3768; rejected here).
    pub const TYPE_AH: u8 = 2;

    /// A simple-text password of at most 8 bytes, zero-padded.
    ///
    /// # Errors
    /// [`WireError::AuthMismatch`] if the password is longer than 8 bytes (keepalived truncates
    /// silently; we refuse, so the operator notices).
    pub fn simple(password: &[u8]) -> Result<Auth, WireError> {
        let mut data = [0u8; 8];
        let dst = data
            .get_mut(..password.len())
            .ok_or(WireError::AuthMismatch)?;
        dst.copy_from_slice(password);
        Ok(Auth::Simple(data))
    }

    /// The wire type code (0 or 1).
    pub const fn type_code(&self) -> u8 {
        match self {
            Auth::None => Auth::TYPE_NONE,
            Auth::Simple(_) => Auth::TYPE_SIMPLE,
        }
    }

    /// The 8 authentication bytes as sent on the wire.
    pub const fn data(&self) -> [u8; 8] {
        match self {
            Auth::None => [0; 8],
            Auth::Simple(d) => *d,
        }
    }

    /// Decodes the v2 authentication type and data.
    ///
    /// # Errors
    /// [`WireError::AuthMismatch`] for type 2 (IP AH) or an unknown type.
    pub fn from_wire(type_code: u8, data: [u8; 8]) -> Result<Auth, WireError> {
        match type_code {
            Auth::TYPE_NONE => Ok(Auth::None),
            Auth::TYPE_SIMPLE => Ok(Auth::Simple(data)),
            _ => Err(WireError::AuthMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_pads_and_limits() {
        assert_eq!(Auth::simple(b"1111"), Ok(Auth::Simple(*b"1111\0\0\0\0")));
        assert_eq!(Auth::simple(b"secretpw"), Ok(Auth::Simple(*b"secretpw")));
        assert_eq!(Auth::simple(b"too-long!"), Err(WireError::AuthMismatch));
        assert_eq!(Auth::from_wire(2, [0; 8]), Err(WireError::AuthMismatch));
        assert_eq!(Auth::None.data(), [0; 8]);
    }
}
