//! Connection counts from conntrack (ctnetlink): the dump request and the reading of one entry.

use std::net::{IpAddr, SocketAddr};

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NlaBuffer, NlasIterator, Parseable,
};
use netlink_packet_netfilter::conntrack::{
    ConntrackAttribute, ConntrackMessage, IPTuple, ProtoInfo, ProtoInfoTCP, ProtoTuple, Tuple,
};
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};

/// conntrack's TCP state number for ESTABLISHED.
const TCP_CONNTRACK_ESTABLISHED: u8 = 3;
/// The nfgenmsg header before the attributes.
const NFGEN_LEN: usize = 4;

/// A request to dump the whole conntrack table (both address families).
pub(crate) fn dump_request(seq: u32) -> Vec<u8> {
    let mut msg = NetlinkMessage::from(NetfilterMessage::new(
        NetfilterHeader::new(NetfilterProtoFamily::Unspec, 0, 0),
        ConntrackMessage::Get(vec![]),
    ));
    msg.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.header.sequence_number = seq;
    msg.finalize();
    let mut bytes = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut bytes);
    bytes
}

/// What the counts need from one conntrack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Where the client sent it (the VIP:port for balanced connections).
    pub orig_dst: SocketAddr,
    /// Where the replies come from (the real server after DNAT).
    pub reply_src: SocketAddr,
    /// IP protocol number.
    pub protocol: u8,
    /// TCP in ESTABLISHED.
    pub established: bool,
}

/// Source address, destination address, source port, destination port, protocol.
type Endpoints = (
    Option<IpAddr>,
    Option<IpAddr>,
    Option<u16>,
    Option<u16>,
    Option<u8>,
);

fn endpoints(tuple: &[Tuple]) -> Endpoints {
    let (mut src, mut dst, mut sport, mut dport, mut proto) = (None, None, None, None, None);
    for t in tuple {
        match t {
            Tuple::Ip(ips) => {
                for ip in ips {
                    match ip {
                        IPTuple::SourceAddress(a) => src = Some(*a),
                        IPTuple::DestinationAddress(a) => dst = Some(*a),
                        _ => {}
                    }
                }
            }
            Tuple::Proto(ps) => {
                for p in ps {
                    match p {
                        ProtoTuple::Protocol(n) => proto = Some(u8::from(*n)),
                        ProtoTuple::SourcePort(n) => sport = Some(*n),
                        ProtoTuple::DestinationPort(n) => dport = Some(*n),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    (src, dst, sport, dport, proto)
}

/// Reads one IPCTNL_MSG_CT_NEW payload (nfgenmsg + attributes); None if it lacks a field.
pub(crate) fn parse_entry(payload: &[u8]) -> Option<Entry> {
    let attrs = payload.get(NFGEN_LEN..)?;
    let (mut orig, mut reply, mut established) = (None, None, false);
    for nla in NlasIterator::new(attrs) {
        let Ok(nla) = nla else { continue };
        let Ok(attr) = ConntrackAttribute::parse(&NlaBuffer::new(nla.into_inner())) else {
            continue;
        };
        match attr {
            ConntrackAttribute::CtaTupleOrig(t) => orig = Some(endpoints(&t)),
            ConntrackAttribute::CtaTupleReply(t) => reply = Some(endpoints(&t)),
            ConntrackAttribute::CtaProtoInfo(infos) => {
                for info in infos {
                    if let ProtoInfo::TCP(tcp) = info {
                        established |= tcp
                            .iter()
                            .any(|x| matches!(x, ProtoInfoTCP::State(s) if *s == TCP_CONNTRACK_ESTABLISHED));
                    }
                }
            }
            _ => {}
        }
    }
    let (_, odst, _, odport, proto) = orig?;
    let (rsrc, _, rsport, _, _) = reply?;
    Some(Entry {
        orig_dst: SocketAddr::new(odst?, odport?),
        reply_src: SocketAddr::new(rsrc?, rsport?),
        protocol: proto?,
        established,
    })
}
