//! Accepted connections, bounded: at most `max_connections` at once and
//! `max_connections_per_address` from one source address. A connection over
//! either limit is closed as soon as it is accepted, before any byte is read,
//! so a flood of connections can neither hold the gateway's memory (every
//! HTTP/2 connection buffers its streams) nor exhaust the process's file
//! descriptors, which the node's API, store and datasets share.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::Stream;
use tonic::transport::server::{Connected, TcpConnectInfo};

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// The listener as a stream of admitted connections.
#[derive(Debug)]
pub(crate) struct Incoming {
    listener: TcpListener,
    counts: Arc<Mutex<Counts>>,
    max_total: usize,
    max_per_address: usize,
    /// After a failed accept (descriptors exhausted, say): a pause instead
    /// of a spin.
    backoff: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Incoming {
    pub(crate) fn new(listener: TcpListener, max_total: usize, max_per_address: usize) -> Self {
        Self {
            listener,
            counts: Arc::default(),
            max_total: max_total.max(1),
            max_per_address: max_per_address.max(1),
            backoff: None,
        }
    }

    /// Counts the connection from `addr` in, unless a limit is reached.
    fn admit(&self, addr: SocketAddr) -> Option<Admitted> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let from = counts.by_address.get(&addr.ip()).copied().unwrap_or(0);
        if counts.total >= self.max_total || from >= self.max_per_address {
            return None;
        }
        counts.total += 1;
        *counts.by_address.entry(addr.ip()).or_insert(0) += 1;
        Some(Admitted { counts: Arc::clone(&self.counts), ip: addr.ip() })
    }
}

/// Releases a connection's place when the connection is dropped.
#[derive(Debug)]
struct Admitted {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_address.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.by_address.remove(&self.ip);
            }
        }
    }
}

impl Stream for Incoming {
    type Item = io::Result<Connection>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(pause) = this.backoff.as_mut() {
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.backoff = None;
            }
            match this.listener.poll_accept(cx) {
                Poll::Pending => return Poll::Pending,
                // A failed accept is skipped after a pause; the stream itself
                // never ends on it.
                Poll::Ready(Err(e)) => {
                    tracing::warn!(error = %e, "gateway accept failed; pausing");
                    this.backoff = Some(Box::pin(tokio::time::sleep(std::time::Duration::from_millis(100))));
                }
                Poll::Ready(Ok((stream, addr))) => match this.admit(addr) {
                    Some(admitted) => {
                        let _ = stream.set_nodelay(true);
                        return Poll::Ready(Some(Ok(Connection { stream, _admitted: admitted })));
                    }
                    None => {
                        tracing::debug!(%addr, "gateway connection refused: too many connections");
                        drop(stream);
                    }
                },
            }
        }
    }
}

/// An admitted connection: the TCP stream and its place in the counts.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    _admitted: Admitted,
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
