//! The loopback listener's ports: any free one (the default), one fixed
//! port, or a list tried in order, for apps whose provider only accepts
//! redirect URIs registered in advance.

use std::net::{SocketAddr, TcpListener};

use crate::{Error, Result};

/// The ports a browser login may listen on, tried in order; `0` is any free
/// port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ports(Vec<u16>);

impl Default for Ports {
    fn default() -> Self {
        Ports::one(0)
    }
}

impl Ports {
    /// Just `port`.
    pub(crate) fn one(port: u16) -> Self {
        Ports(vec![port])
    }

    /// These ports, in this order.
    pub(crate) fn list(ports: impl IntoIterator<Item = u16>) -> Self {
        Ports(ports.into_iter().collect())
    }

    /// Binds `127.0.0.1` on the first port that is free. Every port taken
    /// (or refused) is [`Error::PortsUnavailable`], naming them all; an
    /// empty list is an invalid option.
    pub(crate) fn bind(&self) -> Result<TcpListener> {
        if self.0.is_empty() {
            return Err(Error::invalid_option(
                "ports",
                "needs at least one port (0 for any free port)",
            ));
        }
        let mut last = String::new();
        for &port in &self.0 {
            match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))) {
                Ok(socket) => return Ok(socket),
                Err(e) => {
                    tracing::debug!(port, error = %e, "login listener port unavailable");
                    last = e.to_string();
                }
            }
        }
        Err(Error::PortsUnavailable {
            ports: self.0.clone(),
            reason: last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_free_port_is_taken() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = taken.local_addr().unwrap().port();
        let socket = Ports::list([busy, 0]).bind().unwrap();
        assert_ne!(socket.local_addr().unwrap().port(), busy);
        assert!(Ports::default().bind().is_ok());
    }

    #[test]
    fn all_taken_names_every_port() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpListener::bind("127.0.0.1:0").unwrap();
        let (pa, pb) = (
            a.local_addr().unwrap().port(),
            b.local_addr().unwrap().port(),
        );
        let e = Ports::list([pa, pb]).bind().unwrap_err();
        assert!(e.is_ports_unavailable(), "{e}");
        assert_eq!(e.unavailable_ports(), Some(&[pa, pb][..]));
        let text = e.to_string();
        assert!(text.contains(&format!("{pa}, {pb}")), "{text}");
    }

    #[test]
    fn an_empty_list_is_invalid() {
        let e = Ports::list([]).bind().unwrap_err();
        assert!(e.is_invalid(), "{e}");
        assert!(e.to_string().contains("ports"), "{e}");
    }
}
