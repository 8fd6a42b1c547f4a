//! [`KernelRules`] on nf_tables: one netfilter netlink socket, one batch per change.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use netlink_packet_core::{NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer};
use netlink_sys::{Socket, SocketAddr as NlAddr, protocols::NETLINK_NETFILTER};

use crate::rules::{ConnCounts, KernelRules, RuleSet};
use crate::{LbError, Protocol, conntrack, nft_batch};

/// How long a reply from the kernel may take before the operation fails.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// The nftables backend: writes `table inet vip_lb` (see [`crate::nft_batch`]) in the network
/// namespace it was opened in, and counts connections from conntrack.
pub struct NftRules {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
    /// What the kernel holds after this backend's last successful write (None: unknown, the
    /// next write replaces the whole table).
    written: Option<RuleSet>,
}

impl std::fmt::Debug for NftRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NftRules").field("seq", &self.seq).finish()
    }
}

pub(crate) fn open_socket(op: &'static str) -> Result<Socket, LbError> {
    let mut socket = Socket::new(NETLINK_NETFILTER).map_err(|e| LbError::netlink(op, e))?;
    socket.bind_auto().map_err(|e| LbError::netlink(op, e))?;
    socket
        .connect(&NlAddr::new(0, 0))
        .map_err(|e| LbError::netlink(op, e))?;
    set_recv_timeout(&socket, REPLY_TIMEOUT).map_err(|e| LbError::netlink(op, e))?;
    Ok(socket)
}

fn set_recv_timeout(socket: &Socket, t: Duration) -> std::io::Result<()> {
    // netlink-sys has no receive timeout; a blocking socket with SO_RCVTIMEO keeps a lost
    // reply from hanging the writer.
    socket2::SockRef::from(socket).set_read_timeout(Some(t))
}

/// Receives until `done(message_type, seq, payload)` says stop; returns the first kernel error.
pub(crate) fn receive(
    socket: &Socket,
    buf: &mut Vec<u8>,
    op: &'static str,
    mut on_msg: impl FnMut(u16, u32, &[u8]) -> Result<bool, LbError>,
) -> Result<(), LbError> {
    loop {
        buf.clear();
        buf.reserve(64 * 1024);
        let n = socket.recv(buf, 0).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                LbError::netlink(
                    op,
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "no reply from the kernel"),
                )
            } else {
                LbError::netlink(op, e)
            }
        })?;
        let mut at = 0;
        while at < n {
            let Some(chunk) = buf.get(at..n) else { break };
            let Ok(msg) = NetlinkBuffer::new_checked(chunk) else {
                break;
            };
            let len = msg.length() as usize;
            if len == 0 {
                break;
            }
            if on_msg(msg.message_type(), msg.sequence_number(), msg.payload())? {
                return Ok(());
            }
            at += (len + 3) & !3;
        }
    }
}

/// The errno of an NLMSG_ERROR payload (0: an acknowledgement).
pub(crate) fn error_code(payload: &[u8]) -> i32 {
    payload
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, i32::from_ne_bytes)
}

impl NftRules {
    /// Opens the netfilter netlink socket in the calling thread's network namespace.
    pub fn open() -> Result<NftRules, LbError> {
        Ok(NftRules {
            socket: open_socket("open netfilter socket")?,
            seq: 1,
            buf: Vec::with_capacity(64 * 1024),
            written: None,
        })
    }

    /// Replaces the whole table with `rules` in one batch, whatever the kernel held (what
    /// [`KernelRules::apply`] does when it cannot write a health change alone).
    pub fn apply_full(&mut self, rules: &RuleSet) -> Result<(), LbError> {
        self.written = None;
        let enc = nft_batch::apply(rules, self.seq);
        self.send_batch(enc, "write rules")?;
        self.written = Some(rules.clone());
        Ok(())
    }

    fn send_batch(&mut self, enc: nft_batch::Encoded, op: &'static str) -> Result<(), LbError> {
        self.seq = enc.next_seq;
        self.socket
            .send(&enc.bytes, 0)
            .map_err(|e| LbError::netlink(op, e))?;
        let (first, last) = (enc.first_acked, enc.last_acked);
        let mut failure: Option<i32> = None;
        receive(&self.socket, &mut self.buf, op, |kind, seq, payload| {
            if kind == NLMSG_ERROR && seq.wrapping_sub(first) <= last.wrapping_sub(first) {
                let code = error_code(payload);
                if code != 0 && failure.is_none() {
                    failure = Some(code);
                }
                return Ok(seq == last);
            }
            Ok(false)
        })?;
        match failure {
            Some(code) => Err(LbError::netlink(
                op,
                std::io::Error::from_raw_os_error(code.saturating_neg()),
            )),
            None => Ok(()),
        }
    }
}

impl KernelRules for NftRules {
    fn apply(&mut self, rules: &RuleSet) -> Result<(), LbError> {
        let enc = match self.written.take() {
            Some(old) if nft_batch::updatable(&old, rules) => {
                match nft_batch::update(&old, rules, self.seq) {
                    Some(enc) => enc,
                    None => {
                        self.written = Some(old);
                        return Ok(());
                    }
                }
            }
            _ => nft_batch::apply(rules, self.seq),
        };
        self.send_batch(enc, "write rules")?;
        self.written = Some(rules.clone());
        Ok(())
    }

    fn remove(&mut self) -> Result<(), LbError> {
        self.written = None;
        let enc = nft_batch::remove(self.seq);
        self.send_batch(enc, "remove table")?;
        self.written = Some(RuleSet::default());
        Ok(())
    }

    fn connections(
        &mut self,
        vip: SocketAddr,
        protocol: Protocol,
    ) -> Result<HashMap<SocketAddr, ConnCounts>, LbError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let bytes = conntrack::dump_request(seq);
        self.socket
            .send(&bytes, 0)
            .map_err(|e| LbError::netlink("conntrack dump", e))?;
        let mut counts: HashMap<SocketAddr, ConnCounts> = HashMap::new();
        receive(
            &self.socket,
            &mut self.buf,
            "conntrack dump",
            |kind, s, payload| {
                if s != seq {
                    return Ok(false);
                }
                match kind {
                    NLMSG_DONE => Ok(true),
                    NLMSG_ERROR => {
                        let code = error_code(payload);
                        if code == 0 {
                            Ok(true)
                        } else {
                            Err(LbError::netlink(
                                "conntrack dump",
                                std::io::Error::from_raw_os_error(code.saturating_neg()),
                            ))
                        }
                    }
                    _ => {
                        if let Some(entry) = conntrack::parse_entry(payload)
                            && entry.orig_dst == vip
                            && entry.protocol == protocol.number()
                        {
                            let c = counts.entry(entry.reply_src).or_default();
                            if entry.established {
                                c.active += 1;
                            } else {
                                c.inactive += 1;
                            }
                        }
                        Ok(false)
                    }
                }
            },
        )?;
        Ok(counts)
    }
}
