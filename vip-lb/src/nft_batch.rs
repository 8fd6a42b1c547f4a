//! Encodes a [`RuleSet`] as one nf_tables netlink batch (sans-IO: bytes out).
//!
//! The table `inet vip_lb` holds, per active service `<name>`:
//! - in the base chain `prerouting` (type nat, hook prerouting, priority dstnat = -100), one rule
//!   matching `meta nfproto`, `meta l4proto`, the VIP and the port: `jump <name>`;
//! - the chain `<name>` with one rule: `numgen inc mod N vmap @<name>_slots` (rr, wrr),
//!   `jhash ip saddr mod N seed S vmap @<name>_slots` (sh) or `jhash ip daddr ...` (dh); empty
//!   when the service has no target (new connections then reach the balancer itself, as with
//!   IPVS and no destination);
//! - the map `<name>_slots` (slot number to `jump <name>_t<j>`), slots repeated by weight;
//! - one chain `<name>_t<j>` per target: `counter dnat to <addr>:<port>`.
//!
//! A full write ([`apply`]) is `add table; delete table; add table; ...everything...` in one
//! batch, so the kernel switches from the old state (or from a stale table of a crashed run, or
//! from nothing) to the new one atomically. A health change ([`update`]) is one batch that
//! replaces only the changed services' chain contents, maps and target chains. Removal is
//! `add table; delete table`.

use std::net::IpAddr;

use netlink_packet_core::DefaultNla;
use netlink_packet_core::{NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST, NetlinkMessage};
use netlink_packet_netfilter::nftables::{
    ChainAttribute, ChainMessage, Cmp, DataAttribute, ExpressionAttribute, Expressions, Hook,
    Immediate, InetHookNumber, ListAttribute, Lookup, Meta, MetaKey, NfTablesMessage, Operator,
    Payload, Register, RuleAttribute, RuleMessage, SetAttribute, SetElementAttribute,
    SetElementList, SetElementMessage, SetFlags, SetMessage, TableAttribute, TableMessage, Verdict,
    VerdictAttribute,
};
use netlink_packet_netfilter::none::ControlMessage;
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};

use crate::rules::{RuleSet, ServiceRules};
use crate::{Protocol, Scheduler};

/// vip's own table (family `inet`).
pub const TABLE: &str = "vip_lb";
/// The base chain.
pub const PREROUTING: &str = "prerouting";
/// The dstnat priority.
const DSTNAT_PRIORITY: i32 = -100;
/// The seed of the sh/dh hash (fixed, so a restart keeps clients on their server).
pub const HASH_SEED: u32 = 0x7669_706c; // "vipl"

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_DATA_VERDICT: u32 = 0xffff_ff00;
/// nft's `mark` datatype (a 32-bit integer), so `nft list` shows the map readably.
const NFT_TYPE_MARK: u32 = 19;
/// The set's user data for nft: its keys are in host byte order (as numgen and hash write
/// them), so `nft list` prints slot 1 as 0x00000001. One TLV: NFTNL_UDATA_SET_KEYBYTEORDER (0),
/// length 4, BYTEORDER_HOST_ENDIAN (1) as a host-order u32.
const KEY_HOST_ENDIAN: [u8; 6] = {
    let v = 1u32.to_ne_bytes();
    [0, 4, v[0], v[1], v[2], v[3]]
};
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const PAYLOAD_NETWORK: u32 = 1;
const PAYLOAD_TRANSPORT: u32 = 2;

// numgen, hash, nat and counter expressions (include/uapi/linux/netfilter/nf_tables.h).
const NFTA_NG_DREG: u16 = 1;
const NFTA_NG_MODULUS: u16 = 2;
const NFTA_NG_TYPE: u16 = 3;
const NFT_NG_INCREMENTAL: u32 = 0;
const NFTA_HASH_SREG: u16 = 1;
const NFTA_HASH_DREG: u16 = 2;
const NFTA_HASH_LEN: u16 = 3;
const NFTA_HASH_MODULUS: u16 = 4;
const NFTA_HASH_SEED: u16 = 5;
const NFTA_HASH_TYPE: u16 = 7;
const NFT_HASH_JENKINS: u32 = 0;
const NFTA_NAT_TYPE: u16 = 1;
const NFTA_NAT_FAMILY: u16 = 2;
const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
const NFTA_NAT_REG_PROTO_MIN: u16 = 5;
const NFT_NAT_DNAT: u32 = 1;

/// The map of service `name`.
pub fn map_name(name: &str) -> String {
    format!("{name}_slots")
}

/// The chain of target `j` of service `name`.
pub fn target_chain(name: &str, j: usize) -> String {
    format!("{name}_t{j}")
}

/// Builds netlink messages with sequence numbers from `seq` on.
struct Batch {
    msgs: Vec<NetlinkMessage<NetfilterMessage>>,
    seq: u32,
}

impl Batch {
    fn new(seq: u32) -> Self {
        let mut b = Batch {
            msgs: Vec::new(),
            seq,
        };
        b.push(
            NetfilterMessage::new(
                NetfilterHeader::new(NetfilterProtoFamily::Unspec, 0, NFNL_SUBSYS_NFTABLES),
                ControlMessage::BatchBegin,
            ),
            NLM_F_REQUEST,
        );
        b
    }

    fn push(&mut self, msg: NetfilterMessage, flags: u16) {
        let mut m = NetlinkMessage::from(msg);
        m.header.flags = flags;
        m.header.sequence_number = self.seq;
        self.seq = self.seq.wrapping_add(1);
        m.finalize();
        self.msgs.push(m);
    }

    fn nft(&mut self, msg: NfTablesMessage, flags: u16) {
        self.push(
            NetfilterMessage::new(NetfilterHeader::new(NetfilterProtoFamily::Inet, 0, 0), msg),
            NLM_F_REQUEST | NLM_F_ACK | flags,
        );
    }

    fn finish(mut self) -> Encoded {
        let first_acked = self
            .msgs
            .get(1)
            .map_or(self.seq, |m| m.header.sequence_number);
        let last_acked = self.seq.wrapping_sub(1);
        self.push(
            NetfilterMessage::new(
                NetfilterHeader::new(NetfilterProtoFamily::Unspec, 0, NFNL_SUBSYS_NFTABLES),
                ControlMessage::BatchEnd,
            ),
            NLM_F_REQUEST,
        );
        let len: usize = self.msgs.iter().map(|m| m.buffer_len()).sum();
        let mut bytes = vec![0u8; len];
        let mut at = 0;
        for m in &self.msgs {
            let n = m.buffer_len();
            if let Some(slot) = bytes.get_mut(at..at + n) {
                m.serialize(slot);
            }
            at += n;
        }
        Encoded {
            bytes,
            first_acked,
            last_acked,
            next_seq: self.seq,
        }
    }

    fn table(&mut self, add: bool) {
        let attrs = vec![TableAttribute::Name(TABLE.into())];
        if add {
            self.nft(
                NfTablesMessage::NewTable(TableMessage { attributes: attrs }),
                NLM_F_CREATE,
            );
        } else {
            self.nft(
                NfTablesMessage::DeleteTable(TableMessage { attributes: attrs }),
                0,
            );
        }
    }

    fn chain(&mut self, name: &str, hook: bool) {
        let mut attributes = vec![
            ChainAttribute::Table(TABLE.into()),
            ChainAttribute::Name(name.into()),
        ];
        if hook {
            attributes.push(ChainAttribute::Hook(vec![
                Hook::Number(InetHookNumber::PreRouting.into()),
                Hook::Priority(DSTNAT_PRIORITY as u32),
            ]));
            attributes.push(ChainAttribute::Policy(1));
            attributes.push(ChainAttribute::Type("nat".into()));
        }
        self.nft(
            NfTablesMessage::NewChain(ChainMessage { attributes }),
            NLM_F_CREATE,
        );
    }

    /// Deletes every rule of `chain` (a DELRULE without a handle).
    fn flush_chain(&mut self, chain: &str) {
        self.nft(
            NfTablesMessage::DeleteRule(RuleMessage {
                attributes: vec![
                    RuleAttribute::Table(TABLE.into()),
                    RuleAttribute::Chain(chain.into()),
                ],
            }),
            0,
        );
    }

    fn delete_set(&mut self, name: &str) {
        self.nft(
            NfTablesMessage::DeleteSet(SetMessage {
                attributes: vec![
                    SetAttribute::Table(TABLE.into()),
                    SetAttribute::Name(name.into()),
                ],
            }),
            0,
        );
    }

    fn delete_chain(&mut self, name: &str) {
        self.nft(
            NfTablesMessage::DeleteChain(ChainMessage {
                attributes: vec![
                    ChainAttribute::Table(TABLE.into()),
                    ChainAttribute::Name(name.into()),
                ],
            }),
            0,
        );
    }

    fn rule(&mut self, chain: &str, exprs: Vec<ListAttribute<ExpressionAttribute>>) {
        self.nft(
            NfTablesMessage::NewRule(RuleMessage {
                attributes: vec![
                    RuleAttribute::Table(TABLE.into()),
                    RuleAttribute::Chain(chain.into()),
                    RuleAttribute::Expressions(exprs),
                ],
            }),
            NLM_F_CREATE | NLM_F_APPEND,
        );
    }
}

/// One encoded batch and the sequence numbers whose acknowledgements say how it went.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The bytes to send in one `send`.
    pub bytes: Vec<u8>,
    /// The first message that asks for an acknowledgement.
    pub first_acked: u32,
    /// The last message that asks for an acknowledgement.
    pub last_acked: u32,
    /// The next free sequence number.
    pub next_seq: u32,
}

fn u32_nla(kind: u16, v: u32) -> DefaultNla {
    DefaultNla::new(kind, v.to_be_bytes().to_vec())
}

fn other(name: &str, attributes: Vec<DefaultNla>) -> ListAttribute<ExpressionAttribute> {
    Expressions::Other {
        expression_type: name.into(),
        attributes,
    }
    .into()
}

fn load_meta(key: MetaKey) -> ListAttribute<ExpressionAttribute> {
    Expressions::Meta(vec![
        Meta::Key(key),
        Meta::DestinationRegister(Register::Reg1),
    ])
    .into()
}

fn load_payload(base: u32, offset: u32, len: u32) -> ListAttribute<ExpressionAttribute> {
    Expressions::Payload(vec![
        Payload::DestinationRegister(Register::Reg1),
        Payload::Base(base),
        Payload::Offset(offset),
        Payload::Len(len),
    ])
    .into()
}

fn cmp_eq(bytes: Vec<u8>) -> ListAttribute<ExpressionAttribute> {
    Expressions::Cmp(vec![
        Cmp::SourceRegister(Register::Reg1),
        Cmp::Op(Operator::Equal),
        Cmp::Data(DataAttribute::Value(bytes)),
    ])
    .into()
}

fn immediate(reg: Register, bytes: Vec<u8>) -> ListAttribute<ExpressionAttribute> {
    Expressions::Immediate(vec![
        Immediate::DestinationRegister(reg),
        Immediate::Data(DataAttribute::Value(bytes)),
    ])
    .into()
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `(offset of saddr, offset of daddr, length)` in the network header.
fn addr_offsets(ip: IpAddr) -> (u32, u32, u32) {
    if ip.is_ipv4() {
        (12, 16, 4)
    } else {
        (8, 24, 16)
    }
}

/// The body of service `s`: its target chains, its map and the dispatch rule in its chain
/// (which exists and is empty). Nothing when it has no target.
fn service_body(b: &mut Batch, s: &ServiceRules, set_id: u32) {
    let slots = s.slots();
    if slots.is_empty() {
        // No rule: new connections reach the balancer itself and are refused there (unless
        // something listens on the VIP's port), as IPVS answers "port unreachable" when a
        // service has no destination. A `drop` here would not even be seen while the table
        // holds no `dnat`: nat chains run only for tracked packets, and the kernel tracks
        // connections in a namespace only once something asks for it (the `nat` expression
        // does). Measured in a lab: a nat chain holding only `counter` counted no packet.
        return;
    }
    let map = map_name(&s.name);
    for (j, t) in s.targets.iter().enumerate() {
        let chain = target_chain(&s.name, j);
        b.chain(&chain, false);
        let family = if t.addr.is_ipv4() {
            NFPROTO_IPV4
        } else {
            NFPROTO_IPV6
        };
        b.rule(
            &chain,
            vec![
                other("counter", vec![]),
                immediate(Register::Reg1, ip_bytes(t.addr.ip())),
                immediate(Register::Reg2, t.addr.port().to_be_bytes().to_vec()),
                other(
                    "nat",
                    vec![
                        u32_nla(NFTA_NAT_TYPE, NFT_NAT_DNAT),
                        u32_nla(NFTA_NAT_FAMILY, u32::from(family)),
                        u32_nla(NFTA_NAT_REG_ADDR_MIN, Register::Reg1.into()),
                        u32_nla(NFTA_NAT_REG_PROTO_MIN, Register::Reg2.into()),
                    ],
                ),
            ],
        );
    }
    b.nft(
        NfTablesMessage::NewSet(SetMessage {
            attributes: vec![
                SetAttribute::Table(TABLE.into()),
                SetAttribute::Name(map.clone()),
                SetAttribute::Flags(SetFlags::Map | SetFlags::Constant),
                SetAttribute::KeyType(NFT_TYPE_MARK),
                SetAttribute::KeyLen(4),
                SetAttribute::DataType(NFT_DATA_VERDICT),
                SetAttribute::Id(set_id),
                SetAttribute::UserData(KEY_HOST_ENDIAN.to_vec()),
            ],
        }),
        NLM_F_CREATE,
    );
    let elements = slots
        .iter()
        .enumerate()
        .map(|(k, &j)| {
            ListAttribute::Element(vec![
                SetElementAttribute::Key(DataAttribute::Value(
                    u32::try_from(k).unwrap_or(u32::MAX).to_ne_bytes().to_vec(),
                )),
                SetElementAttribute::Data(DataAttribute::Verdict(vec![
                    VerdictAttribute::Code(Verdict::Jump),
                    VerdictAttribute::Chain(target_chain(&s.name, j)),
                ])),
            ])
        })
        .collect();
    b.nft(
        NfTablesMessage::NewSetElement(SetElementMessage {
            attributes: vec![
                SetElementList::Table(TABLE.into()),
                SetElementList::Set(map.clone()),
                SetElementList::SetId(set_id),
                SetElementList::Elements(elements),
            ],
        }),
        NLM_F_CREATE,
    );
    let (saddr, daddr, alen) = addr_offsets(s.vip);
    let modulus = u32::try_from(slots.len()).unwrap_or(u32::MAX);
    let mut e = Vec::new();
    match s.scheduler {
        Scheduler::Rr | Scheduler::Wrr => e.push(other(
            "numgen",
            vec![
                u32_nla(NFTA_NG_DREG, Register::Reg1.into()),
                u32_nla(NFTA_NG_MODULUS, modulus),
                u32_nla(NFTA_NG_TYPE, NFT_NG_INCREMENTAL),
            ],
        )),
        Scheduler::Sh | Scheduler::Dh => {
            let offset = if s.scheduler == Scheduler::Sh {
                saddr
            } else {
                daddr
            };
            e.push(load_payload(PAYLOAD_NETWORK, offset, alen));
            e.push(other(
                "hash",
                vec![
                    u32_nla(NFTA_HASH_SREG, Register::Reg1.into()),
                    u32_nla(NFTA_HASH_DREG, Register::Reg1.into()),
                    u32_nla(NFTA_HASH_LEN, alen),
                    u32_nla(NFTA_HASH_MODULUS, modulus),
                    u32_nla(NFTA_HASH_SEED, HASH_SEED),
                    u32_nla(NFTA_HASH_TYPE, NFT_HASH_JENKINS),
                ],
            ));
        }
    }
    e.push(
        Expressions::Lookup(vec![
            Lookup::SourceRegister(Register::Reg1),
            Lookup::DestinationRegister(Register::Verdict),
            Lookup::Set(map),
            Lookup::SetId(set_id),
        ])
        .into(),
    );
    b.rule(&s.name, e);
}

/// The rule in `prerouting` that sends service `s`'s new connections to its chain.
fn service_match(b: &mut Batch, s: &ServiceRules) {
    let (_, daddr, alen) = addr_offsets(s.vip);
    let nfproto = if s.vip.is_ipv4() {
        NFPROTO_IPV4
    } else {
        NFPROTO_IPV6
    };
    b.rule(
        PREROUTING,
        vec![
            load_meta(MetaKey::Nfproto),
            cmp_eq(vec![nfproto]),
            load_meta(MetaKey::L4Proto),
            cmp_eq(vec![s.protocol.number()]),
            load_payload(PAYLOAD_NETWORK, daddr, alen),
            cmp_eq(ip_bytes(s.vip)),
            load_payload(PAYLOAD_TRANSPORT, 2, 2),
            cmp_eq(s.port.to_be_bytes().to_vec()),
            Expressions::Immediate(vec![
                Immediate::DestinationRegister(Register::Verdict),
                Immediate::Data(DataAttribute::Verdict(vec![
                    VerdictAttribute::Code(Verdict::Jump),
                    VerdictAttribute::Chain(s.name.clone()),
                ])),
            ])
            .into(),
        ],
    );
}

fn set_id(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1)
}

/// The batch that makes the kernel hold exactly `rules` (no services: no table), replacing
/// whatever table of vip's own was there.
pub fn apply(rules: &RuleSet, seq: u32) -> Encoded {
    if rules.services.is_empty() {
        return remove(seq);
    }
    let mut b = Batch::new(seq);
    b.table(true);
    b.table(false);
    b.table(true);
    b.chain(PREROUTING, true);
    for (i, s) in rules.services.iter().enumerate() {
        b.chain(&s.name, false);
        service_body(&mut b, s, set_id(i));
        service_match(&mut b, s);
    }
    b.finish()
}

/// Whether `new` can be written as [`update`] over `old`: the same services in the same order,
/// each with the same match (VIP, port, protocol) and scheduler; only targets differ.
pub fn updatable(old: &RuleSet, new: &RuleSet) -> bool {
    old.services.len() == new.services.len()
        && old.services.iter().zip(&new.services).all(|(o, n)| {
            o.name == n.name
                && o.vip == n.vip
                && o.port == n.port
                && o.protocol == n.protocol
                && o.scheduler == n.scheduler
        })
}

/// The batch that changes the kernel from `old` (which it holds) to `new` (see [`updatable`]):
/// for each service whose targets changed, its chain is flushed, its map and target chains
/// deleted and its body written again. The match rules and other services stay untouched.
/// None if nothing changed.
pub fn update(old: &RuleSet, new: &RuleSet, seq: u32) -> Option<Encoded> {
    let mut b = Batch::new(seq);
    let mut any = false;
    for (i, (o, n)) in old.services.iter().zip(&new.services).enumerate() {
        if o.targets == n.targets {
            continue;
        }
        any = true;
        b.flush_chain(&o.name);
        if !o.slots().is_empty() {
            b.delete_set(&map_name(&o.name));
            for j in 0..o.targets.len() {
                b.delete_chain(&target_chain(&o.name, j));
            }
        }
        service_body(&mut b, n, set_id(i));
    }
    any.then(|| b.finish())
}

/// The batch that removes vip's table (no error if it is not there).
pub fn remove(seq: u32) -> Encoded {
    let mut b = Batch::new(seq);
    b.table(true);
    b.table(false);
    b.finish()
}

fn proto_name(s: &ServiceRules) -> &'static str {
    match s.protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

/// nft statements that write service `s`'s body (its chain exists and is empty).
fn nft_body(out: &mut String, s: &ServiceRules) {
    use std::fmt::Write as _;
    let slots = s.slots();
    if slots.is_empty() {
        return;
    }
    let fam = if s.vip.is_ipv4() { "ip" } else { "ip6" };
    for (j, t) in s.targets.iter().enumerate() {
        let chain = target_chain(&s.name, j);
        let _ = writeln!(out, "add chain inet {TABLE} {chain}");
        let _ = writeln!(
            out,
            "add rule inet {TABLE} {chain} meta l4proto {} counter dnat {fam} to {}",
            proto_name(s),
            t.addr
        );
    }
    let n = slots.len();
    let key = match s.scheduler {
        Scheduler::Rr | Scheduler::Wrr => format!("numgen inc mod {n}"),
        Scheduler::Sh => format!("jhash {fam} saddr mod {n} seed {HASH_SEED:#x}"),
        Scheduler::Dh => format!("jhash {fam} daddr mod {n} seed {HASH_SEED:#x}"),
    };
    let elems: Vec<String> = slots
        .iter()
        .enumerate()
        .map(|(k, &j)| format!("{k} : jump {}", target_chain(&s.name, j)))
        .collect();
    let _ = writeln!(
        out,
        "add rule inet {TABLE} {} {key} vmap {{ {} }}",
        s.name,
        elems.join(", ")
    );
}

/// The same state as `nft -f` input, replacing vip's table (for the benchmark's comparison and
/// for reading). nft's own syntax puts each dispatch map inline (an anonymous vmap) where the
/// netlink writer uses a named map; the kernel evaluates both alike.
pub fn to_nft_script(rules: &RuleSet) -> String {
    use std::fmt::Write as _;
    let mut out = format!("table inet {TABLE}\ndelete table inet {TABLE}\n");
    if rules.services.is_empty() {
        return out;
    }
    let _ = writeln!(out, "add table inet {TABLE}");
    let _ = writeln!(
        out,
        "add chain inet {TABLE} {PREROUTING} {{ type nat hook prerouting priority dstnat; policy accept; }}"
    );
    for s in &rules.services {
        let fam = if s.vip.is_ipv4() { "ip" } else { "ip6" };
        let _ = writeln!(out, "add chain inet {TABLE} {}", s.name);
        nft_body(&mut out, s);
        let _ = writeln!(
            out,
            "add rule inet {TABLE} {PREROUTING} {fam} daddr {} {} dport {} jump {}",
            s.vip,
            proto_name(s),
            s.port,
            s.name
        );
    }
    out
}

/// The `nft -f` input for the change [`update`] makes (same chains deleted and written).
pub fn to_nft_update_script(old: &RuleSet, new: &RuleSet) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (o, n) in old.services.iter().zip(&new.services) {
        if o.targets == n.targets {
            continue;
        }
        let _ = writeln!(out, "flush chain inet {TABLE} {}", o.name);
        if !o.slots().is_empty() {
            for j in 0..o.targets.len() {
                let _ = writeln!(
                    out,
                    "delete chain inet {TABLE} {}",
                    target_chain(&o.name, j)
                );
            }
        }
        nft_body(&mut out, n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Target;

    #[test]
    fn a_batch_is_framed_and_acked() {
        let rules = RuleSet {
            services: vec![ServiceRules {
                name: "web".into(),
                vip: "198.51.100.10".parse().unwrap(),
                port: 80,
                protocol: Protocol::Tcp,
                scheduler: Scheduler::Wrr,
                targets: vec![Target {
                    addr: "203.0.113.2:80".parse().unwrap(),
                    weight: 2,
                }],
            }],
        };
        let e = apply(&rules, 100);
        // begin, 3 table ops, prerouting, service chain, target chain + rule, map, elements,
        // dispatch rule, match rule, end
        assert_eq!(e.first_acked, 101);
        assert_eq!(e.last_acked, 111);
        assert_eq!(e.next_seq, 113);
        // The first message is the batch begin for the nftables subsystem.
        assert_eq!(&e.bytes[4..6], &0x10u16.to_ne_bytes());
        let r = remove(5);
        assert_eq!((r.first_acked, r.last_acked), (6, 7));
        assert!(to_nft_script(&rules).contains("numgen inc mod 1 vmap { 0 : jump web_t0 }"));
        // A health change touches only the changed service.
        assert!(update(&rules, &rules, 1).is_none());
        let mut out = rules.clone();
        out.services[0].targets.clear();
        let u = update(&rules, &out, 1).unwrap();
        // begin, flush, delete map, delete target chain, end
        assert_eq!((u.first_acked, u.last_acked, u.next_seq), (2, 4, 6));
        assert!(updatable(&rules, &out));
        assert!(!updatable(&rules, &RuleSet::default()));
        assert_eq!(
            to_nft_update_script(&rules, &out),
            "flush chain inet vip_lb web\ndelete chain inet vip_lb web_t0\n"
        );
    }
}
