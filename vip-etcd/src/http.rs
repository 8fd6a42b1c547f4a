//! A minimal HTTP/1.1 client (POST with a JSON body; Content-Length or chunked answers) over
//! TCP or TLS: all that etcd's JSON gateway needs, without an HTTP or gRPC stack.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::config::TlsConfig;
use crate::error::EtcdError;

/// A byte stream the client can use: TCP or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Where an etcd member listens for clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://`.
    pub tls: bool,
    /// The host name or address (without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
}

impl Endpoint {
    /// Parses `http://host:port` or `https://host:port` (port defaults to 2379).
    pub fn parse(url: &str) -> Result<Endpoint, EtcdError> {
        let bad = || EtcdError::Protocol {
            detail: format!("endpoint `{url}` is not http(s)://host:port"),
        };
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad());
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, p) = r.split_once(']').ok_or_else(bad)?;
            (h.to_string(), p.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => 2379,
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Endpoint { tls, host, port })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Opens connections, with TLS when configured.
#[derive(Clone)]
pub struct Connector {
    tls: Option<TlsConnector>,
}

impl Connector {
    /// A connector; loads the TLS material now so that a bad file is reported at start.
    pub fn new(tls: Option<&TlsConfig>) -> Result<Connector, EtcdError> {
        let Some(tls) = tls else {
            return Ok(Connector { tls: None });
        };
        let terr = |what: &str, e: &dyn std::fmt::Display| EtcdError::Tls {
            detail: format!("{what}: {e}"),
        };
        let mut roots = rustls::RootCertStore::empty();
        let cas = CertificateDer::pem_file_iter(&tls.ca)
            .map_err(|e| terr(&format!("reading CA {}", tls.ca.display()), &e))?;
        for ca in cas {
            let ca = ca.map_err(|e| terr(&format!("parsing CA {}", tls.ca.display()), &e))?;
            roots
                .add(ca)
                .map_err(|e| terr(&format!("CA {}", tls.ca.display()), &e))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| terr("protocol versions", &e))?
            .with_root_certificates(roots);
        let config = match (&tls.cert, &tls.key) {
            (Some(cert), Some(key)) => {
                let certs = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| terr(&format!("reading {}", cert.display()), &e))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| terr(&format!("parsing {}", cert.display()), &e))?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| terr(&format!("reading key {}", key.display()), &e))?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| terr("client certificate", &e))?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Connector {
            tls: Some(TlsConnector::from(Arc::new(config))),
        })
    }

    async fn connect(&self, ep: &Endpoint) -> Result<Box<dyn Io>, EtcdError> {
        let tcp = TcpStream::connect((ep.host.as_str(), ep.port))
            .await
            .map_err(|e| EtcdError::Unreachable {
                detail: format!("{}: {e}", ep.authority()),
            })?;
        let _ = tcp.set_nodelay(true);
        if !ep.tls {
            return Ok(Box::new(tcp));
        }
        let Some(tls) = &self.tls else {
            return Err(EtcdError::Tls {
                detail: format!(
                    "{} is https:// but no TLS material is configured",
                    ep.authority()
                ),
            });
        };
        let name = ServerName::try_from(ep.host.clone()).map_err(|e| EtcdError::Tls {
            detail: format!("server name {}: {e}", ep.host),
        })?;
        let stream = tls.connect(name, tcp).await.map_err(|e| EtcdError::Tls {
            detail: format!("handshake with {}: {e}", ep.authority()),
        })?;
        Ok(Box::new(stream))
    }

    /// Sends `POST path` with a JSON body and returns a reader of the answer's body.
    pub async fn post(
        &self,
        ep: &Endpoint,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Result<Answer, EtcdError> {
        let mut io = self.connect(ep).await?;
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            ep.authority(),
            body.len()
        );
        for (k, v) in headers {
            req.push_str(k);
            req.push_str(": ");
            req.push_str(v);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        req.push_str(body);
        // A TLS alert after the handshake (TLS 1.3 reports a refused client certificate on the
        // first read) is a TLS error, not an unreachable endpoint.
        let io_err = |e: std::io::Error| {
            let tls = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            match tls {
                Some(t) => EtcdError::Tls {
                    detail: format!("{}: {t}", ep.authority()),
                },
                None => EtcdError::Unreachable {
                    detail: format!("{}: {e}", ep.authority()),
                },
            }
        };
        io.write_all(req.as_bytes()).await.map_err(io_err)?;
        io.flush().await.map_err(io_err)?;
        let mut reader = BufReader::new(io);
        let mut line = String::new();
        reader.read_line(&mut line).await.map_err(io_err)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| EtcdError::Protocol {
                detail: format!("status line `{}` from {}", line.trim(), ep.authority()),
            })?;
        let mut chunked = false;
        let mut length = None;
        loop {
            line.clear();
            let n = reader.read_line(&mut line).await.map_err(io_err)?;
            let l = line.trim_end();
            if n == 0 || l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                } else if k == "content-length" {
                    length = v.parse::<usize>().ok();
                }
            }
        }
        Ok(Answer {
            status,
            reader,
            chunked,
            length,
            pending: Vec::new(),
            done: false,
            origin: ep.authority(),
        })
    }
}

/// The body of an answer, read whole or one JSON document at a time.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    reader: BufReader<Box<dyn Io>>,
    chunked: bool,
    length: Option<usize>,
    pending: Vec<u8>,
    done: bool,
    origin: String,
}

impl Answer {
    fn io_err(&self, e: std::io::Error) -> EtcdError {
        EtcdError::Unreachable {
            detail: format!("{}: {e}", self.origin),
        }
    }

    /// Reads more of the body into `pending`; false at its end.
    async fn fill(&mut self) -> Result<bool, EtcdError> {
        if self.done {
            return Ok(false);
        }
        if self.chunked {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .await
                .map_err(|e| self.io_err(e))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16);
            let size = match (n, size) {
                (0, _) => 0,
                (_, Ok(s)) => s,
                (_, Err(_)) => {
                    return Err(EtcdError::Protocol {
                        detail: format!("chunk size `{}` from {}", line.trim(), self.origin),
                    });
                }
            };
            if size == 0 {
                self.done = true;
                return Ok(false);
            }
            let mut buf = vec![0u8; size + 2];
            self.reader
                .read_exact(&mut buf)
                .await
                .map_err(|e| self.io_err(e))?;
            buf.truncate(size);
            self.pending.extend_from_slice(&buf);
            Ok(true)
        } else if let Some(len) = self.length {
            let mut buf = vec![0u8; len];
            self.reader
                .read_exact(&mut buf)
                .await
                .map_err(|e| self.io_err(e))?;
            self.pending.extend_from_slice(&buf);
            self.done = true;
            Ok(true)
        } else {
            let mut buf = Vec::new();
            self.reader
                .read_to_end(&mut buf)
                .await
                .map_err(|e| self.io_err(e))?;
            self.pending.extend_from_slice(&buf);
            self.done = true;
            Ok(!buf.is_empty())
        }
    }

    /// The next JSON document of the body, or `None` at its end.
    pub async fn next_json(&mut self) -> Result<Option<serde_json::Value>, EtcdError> {
        loop {
            let mut it = serde_json::Deserializer::from_slice(&self.pending)
                .into_iter::<serde_json::Value>();
            match it.next() {
                Some(Ok(v)) => {
                    let used = it.byte_offset();
                    self.pending.drain(..used);
                    return Ok(Some(v));
                }
                Some(Err(e)) if !e.is_eof() => {
                    return Err(EtcdError::Protocol {
                        detail: format!("JSON from {}: {e}", self.origin),
                    });
                }
                _ => {}
            }
            if !self.fill().await? {
                if self.pending.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                return Err(EtcdError::Protocol {
                    detail: format!("truncated JSON from {}", self.origin),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:2379").unwrap(),
            Endpoint {
                tls: false,
                host: "127.0.0.1".into(),
                port: 2379
            }
        );
        assert_eq!(
            Endpoint::parse("https://[2001:db8::1]:23").unwrap(),
            Endpoint {
                tls: true,
                host: "2001:db8::1".into(),
                port: 23
            }
        );
        assert_eq!(Endpoint::parse("http://etcd/").unwrap().port, 2379);
        assert!(Endpoint::parse("etcd:2379").is_err());
    }
}
