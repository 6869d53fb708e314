//! Federated prediction with a split model: every host computes its partial
//! scores `u_h = standardise(X_h)·w_h` on the aligned rows and sends them to
//! the guest, which adds its own `standardise(X_g)·w_g + b` and applies the
//! sigmoid.
//!
//! ```text
//! guest                                   host h (each of them)
//!                               ◄──  PartialScores { u_h, one per row }
//!   u = X_g·w_g + b + Σ_h u_h, p = σ(u)
//! ```
//!
//! **What each party learns.** A host sends one message and receives none: it
//! learns nothing about the scores, the labels or the other parties. The
//! guest learns the predictions and every host's partial scores on these rows
//! (as during training; FATE's hetero-LR prediction sends the same), never a
//! host's features or weights.

use wefe_core::{PeerId, Transport};

use super::VERSION;
use crate::model::{PartyModel, Role};
use crate::wire::{Reader, ReaderExt, put_f64s};
use crate::{Error, Features, Result};

/// Transport tag of [`PartialScores`].
pub const TAG_PARTIAL_SCORES: &str = "ml/vlr/v1/predict-scores";
const KIND_PARTIAL_SCORES: u8 = 8;

/// Host → guest: partial scores of the rows to predict, in row order.
#[derive(Debug, Clone, PartialEq)]
pub struct PartialScores {
    /// `standardise(X_h)·w_h`.
    pub scores: Vec<f64>,
}

impl PartialScores {
    /// `version ‖ kind ‖ count ‖ f64s`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + 8 * self.scores.len());
        out.extend_from_slice(&[VERSION, KIND_PARTIAL_SCORES]);
        put_f64s(&mut out, &self.scores);
        out
    }

    /// Parses at most `max_rows` finite scores.
    pub fn decode(bytes: &[u8], max_rows: usize) -> Result<Self> {
        let mut r = Reader::new("vertical-LR partial scores", bytes);
        r.header(VERSION, KIND_PARTIAL_SCORES)?;
        let scores = r.f64s(max_rows)?;
        r.finish()?;
        Ok(Self { scores })
    }
}

/// The guest's side: its share's scores plus every host's. Returns the
/// linear scores `u` of the rows (probabilities are `σ(u)`).
pub async fn run_predict_guest(
    transport: &impl Transport,
    hosts: &[PeerId],
    model: &PartyModel,
    x: &Features,
) -> Result<Vec<f64>> {
    if model.role != Role::Guest {
        return Err(Error::InvalidParams("a host's model share cannot lead a prediction".into()));
    }
    let mut u = model.partial_scores(x)?;
    for h in hosts {
        let msg = super::from_peer(h, PartialScores::decode(&transport.recv(h, TAG_PARTIAL_SCORES).await?, x.rows()))?;
        if msg.scores.len() != u.len() {
            return Err(Error::Shape(format!(
                "host {h} sent {} partial scores for the {} rows to predict",
                msg.scores.len(),
                u.len()
            )));
        }
        u.iter_mut().zip(msg.scores).for_each(|(a, b)| *a += b);
    }
    Ok(u)
}

/// A host's side: sends its partial scores to the guest.
pub async fn run_predict_host(
    transport: &impl Transport,
    guest: &PeerId,
    model: &PartyModel,
    x: &Features,
) -> Result<()> {
    if model.role != Role::Host {
        return Err(Error::InvalidParams("the guest's model share cannot act as a host".into()));
    }
    let scores = model.partial_scores(x)?;
    transport.send(guest, TAG_PARTIAL_SCORES, PartialScores { scores }.encode()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FORMAT, Scaler};
    use wefe_core::MemoryNetwork;

    fn share(role: Role, party: &str, weights: Vec<f64>, intercept: f64) -> PartyModel {
        let n = weights.len();
        PartyModel {
            format: FORMAT.into(),
            job_id: 1,
            role,
            party: party.into(),
            parties: vec!["0x01".into(), "0x02".into()],
            dataset: "d".into(),
            features: (0..n).map(|i| format!("f{i}")).collect(),
            scaler: Scaler::identity(n),
            weights,
            intercept,
            label: (role == Role::Guest).then(|| "y".into()),
            threshold: 0.5,
        }
    }

    #[tokio::test]
    async fn the_guest_adds_every_hosts_partial_scores() {
        let (g, h) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
        let net = MemoryNetwork::new(1 << 20);
        let (g_net, h_net) = (net.endpoint(g), net.endpoint(h));
        let guest = share(Role::Guest, "0x01", vec![1.0], 0.5);
        let host = share(Role::Host, "0x02", vec![2.0, -1.0], 0.0);
        let gx = Features::new("g", 3, 1, vec![1.0, 2.0, 3.0]).unwrap();
        let hx = Features::new("h", 3, 2, vec![1.0, 1.0, 0.0, 2.0, 1.0, 0.0]).unwrap();
        let hosts = [h];
        let (u, sent) =
            tokio::join!(run_predict_guest(&g_net, &hosts, &guest, &gx), run_predict_host(&h_net, &g, &host, &hx));
        sent.unwrap();
        assert_eq!(u.unwrap(), vec![1.0 + 0.5 + 1.0, 2.0 + 0.5 - 2.0, 3.0 + 0.5 + 2.0]);
    }

    #[tokio::test]
    async fn a_host_with_other_rows_is_named() {
        let (g, h) = (PeerId::from_bytes([1; 20]), PeerId::from_bytes([2; 20]));
        let net = MemoryNetwork::new(1 << 20);
        let (g_net, h_net) = (net.endpoint(g), net.endpoint(h));
        let guest = share(Role::Guest, "0x01", vec![1.0], 0.0);
        h_net.send(&g, TAG_PARTIAL_SCORES, PartialScores { scores: vec![1.0] }.encode()).await.unwrap();
        let gx = Features::new("g", 2, 1, vec![1.0, 2.0]).unwrap();
        let err = run_predict_guest(&g_net, &[h], &guest, &gx).await.unwrap_err().to_string();
        assert!(err.contains(&h.to_string()) && err.contains("1 partial scores for the 2 rows"), "{err}");
        // Truncated and wrong-kind messages are errors, not panics.
        let bytes = PartialScores { scores: vec![1.0, 2.0] }.encode();
        assert!(PartialScores::decode(&bytes[..bytes.len() - 3], 2).is_err());
        assert!(PartialScores::decode(&bytes, 1).is_err());
        assert!(PartialScores::decode(&[VERSION, 1, 0, 0, 0, 0], 2).is_err());
        // A host's share cannot lead, the guest's cannot serve.
        let host = share(Role::Host, "0x02", vec![1.0], 0.0);
        assert!(run_predict_guest(&g_net, &[h], &host, &gx).await.is_err());
        assert!(run_predict_host(&h_net, &g, &guest, &gx).await.is_err());
    }
}
