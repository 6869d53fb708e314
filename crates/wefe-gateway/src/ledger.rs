//! Who may queue what here: the jobs this gateway has admitted (and with
//! which participants) or seen end, and the bytes and messages each sender
//! holds in its queues.
//!
//! Every message, empty or not, is charged when its first chunk arrives
//! ([`Ledger::begin`]): one message plus [`MESSAGE_OVERHEAD_BYTES`] and its
//! tag. Its payload is charged chunk by chunk as it arrives
//! ([`Charge::grow`]), never by the size it announces. The charge is released
//! when the message is received, dropped with its job, or abandoned.
//!
//! Budgets nest: all senders together (`max_queued_bytes`), one sender
//! (`max_queued_*_per_sender`), and for a job not admitted yet one sender in
//! that job (`unknown_job_*`) and the number of such jobs per sender.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wefe_core::PeerId;

use crate::config::{GatewayConfig, MESSAGE_OVERHEAD_BYTES, human_bytes};
use crate::error::{GatewayError, Result};

/// Ended jobs remembered, so their late messages are refused; beyond it the
/// oldest are forgotten (their messages then fall under the unknown-job limits).
const ENDED_JOBS_REMEMBERED: usize = 65_536;

/// How often expired messages of never-admitted jobs are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Usage {
    bytes: usize,
    messages: usize,
}

impl Usage {
    fn is_zero(&self) -> bool {
        self.bytes == 0 && self.messages == 0
    }
}

#[derive(Debug, Clone)]
struct Limits {
    total_bytes: usize,
    sender_bytes: usize,
    sender_messages: usize,
    unknown_job_bytes: usize,
    unknown_job_messages: usize,
    unknown_jobs_per_sender: usize,
    unknown_job_ttl: Duration,
}

#[derive(Debug)]
struct State {
    total_bytes: usize,
    senders: HashMap<PeerId, Usage>,
    /// Per sender and job not admitted when the message began.
    early: HashMap<(PeerId, u64), Usage>,
    /// Jobs not admitted that hold early messages: when first seen.
    early_jobs: HashMap<u64, Instant>,
    admitted: HashMap<u64, Arc<HashSet<PeerId>>>,
    ended: HashSet<u64>,
    ended_order: VecDeque<u64>,
    last_sweep: Instant,
}

/// The gateway's queue accounting and job table.
#[derive(Debug)]
pub(crate) struct Ledger {
    limits: Limits,
    state: Mutex<State>,
}

/// What one message holds against the budgets until dropped.
#[derive(Debug)]
pub(crate) struct Charge {
    ledger: Arc<Ledger>,
    from: PeerId,
    job: u64,
    /// Charged to the unknown-job budget (the job was not admitted when it began).
    early: bool,
    bytes: usize,
}

/// Queue figures of a gateway, for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Bytes charged: payloads that arrived plus per-message overhead.
    pub bytes: usize,
    /// Messages queued or being reassembled.
    pub messages: usize,
    /// Mailboxes (job, sender, tag) that exist: holding messages or awaited.
    pub mailboxes: usize,
}

impl Ledger {
    pub(crate) fn new(config: &GatewayConfig) -> Arc<Self> {
        Arc::new(Self {
            limits: Limits {
                total_bytes: config.max_queued_bytes,
                sender_bytes: config.max_queued_bytes_per_sender,
                sender_messages: config.max_queued_messages_per_sender,
                unknown_job_bytes: config.unknown_job_bytes,
                unknown_job_messages: config.unknown_job_messages,
                unknown_jobs_per_sender: config.unknown_jobs_per_sender,
                unknown_job_ttl: config.unknown_job_ttl,
            },
            state: Mutex::new(State {
                total_bytes: 0,
                senders: HashMap::new(),
                early: HashMap::new(),
                early_jobs: HashMap::new(),
                admitted: HashMap::new(),
                ended: HashSet::new(),
                ended_order: VecDeque::new(),
                last_sweep: Instant::now(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses `from`'s envelopes for `job` when the job ended or `from` is
    /// not one of its participants. Cheap: runs before any signature check.
    pub(crate) fn check_job(&self, from: PeerId, job: u64) -> Result<()> {
        let state = self.lock();
        if state.ended.contains(&job) {
            return Err(GatewayError::JobEnded(job));
        }
        match state.admitted.get(&job) {
            Some(parties) if !parties.contains(&from) => Err(GatewayError::NotParticipant { from, job }),
            _ => Ok(()),
        }
    }

    pub(crate) fn is_ended(&self, job: u64) -> bool {
        self.lock().ended.contains(&job)
    }

    /// Admits `job` with its participants; false when the job already ended.
    pub(crate) fn admit(&self, job: u64, parties: Arc<HashSet<PeerId>>) -> bool {
        let mut state = self.lock();
        if state.ended.contains(&job) {
            return false;
        }
        state.admitted.insert(job, parties);
        // An admitted job is running: the sweep of never-admitted jobs must
        // not drop its queues (its early messages stay charged until read).
        state.early_jobs.remove(&job);
        true
    }

    /// Marks `job` ended: its late messages are refused from now on.
    pub(crate) fn end(&self, job: u64) {
        let mut state = self.lock();
        state.admitted.remove(&job);
        state.early_jobs.remove(&job);
        if state.ended.insert(job) {
            state.ended_order.push_back(job);
            if state.ended_order.len() > ENDED_JOBS_REMEMBERED
                && let Some(old) = state.ended_order.pop_front()
            {
                state.ended.remove(&old);
            }
        }
    }

    /// Jobs never admitted whose early messages are older than the TTL (at
    /// most once a minute); they are forgotten here, the caller drops their
    /// queued messages.
    pub(crate) fn expired_unknown_jobs(&self) -> Vec<u64> {
        let mut state = self.lock();
        if state.last_sweep.elapsed() < SWEEP_EVERY.min(self.limits.unknown_job_ttl) {
            return Vec::new();
        }
        state.last_sweep = Instant::now();
        let ttl = self.limits.unknown_job_ttl;
        let expired: Vec<u64> = state
            .early_jobs
            .iter()
            .filter(|(job, seen)| seen.elapsed() >= ttl && !state.admitted.contains_key(job))
            .map(|(job, _)| *job)
            .collect();
        // Kept (with a fresh time) until its last early charge is released:
        // a message still being reassembled now is swept on a later round.
        let now = Instant::now();
        for job in &expired {
            state.early_jobs.insert(*job, now);
        }
        expired
    }

    /// Charges a new message of `from` for `job` (`tag_len` bytes of tag,
    /// `announced` bytes of payload to come, of which nothing is charged yet).
    pub(crate) fn begin(self: &Arc<Self>, from: PeerId, job: u64, tag_len: usize, announced: usize) -> Result<Charge> {
        let overhead = MESSAGE_OVERHEAD_BYTES.saturating_add(tag_len);
        let limits = &self.limits;
        let mut state = self.lock();
        if state.ended.contains(&job) {
            return Err(GatewayError::JobEnded(job));
        }
        let early = match state.admitted.get(&job) {
            Some(parties) if !parties.contains(&from) => return Err(GatewayError::NotParticipant { from, job }),
            Some(_) => false,
            None => true,
        };
        let sender = state.senders.get(&from).copied().unwrap_or_default();
        if sender.messages >= limits.sender_messages {
            return Err(GatewayError::SenderQueueFull { from, detail: format!("{} messages", sender.messages) });
        }
        if early {
            let unknown_full = |detail: String| GatewayError::UnknownJobFull { from, job, detail };
            if announced.saturating_add(overhead) > limits.unknown_job_bytes {
                return Err(unknown_full(format!(
                    "{} for this job; this message has {announced} bytes",
                    human_bytes(limits.unknown_job_bytes)
                )));
            }
            match state.early.get(&(from, job)) {
                Some(used) if used.messages >= limits.unknown_job_messages => {
                    return Err(unknown_full(format!("{} messages for this job", limits.unknown_job_messages)));
                }
                Some(_) => {}
                None => {
                    let jobs = state.early.keys().filter(|(sender, _)| *sender == from).count();
                    if jobs >= limits.unknown_jobs_per_sender {
                        return Err(unknown_full(format!(
                            "messages for {} such jobs at once",
                            limits.unknown_jobs_per_sender
                        )));
                    }
                }
            }
        }
        Self::check_bytes(limits, &state, from, job, early, overhead)?;
        state.total_bytes += overhead;
        let sender = state.senders.entry(from).or_default();
        sender.bytes += overhead;
        sender.messages += 1;
        if early {
            let used = state.early.entry((from, job)).or_default();
            used.bytes += overhead;
            used.messages += 1;
            state.early_jobs.entry(job).or_insert_with(Instant::now);
        }
        Ok(Charge { ledger: Arc::clone(self), from, job, early, bytes: overhead })
    }

    fn check_bytes(limits: &Limits, state: &State, from: PeerId, job: u64, early: bool, add: usize) -> Result<()> {
        let total = state.total_bytes.saturating_add(add);
        if total > limits.total_bytes {
            return Err(GatewayError::QueueFull { queued: state.total_bytes, limit: limits.total_bytes });
        }
        let sender = state.senders.get(&from).map_or(0, |u| u.bytes);
        if sender.saturating_add(add) > limits.sender_bytes {
            return Err(GatewayError::SenderQueueFull {
                from,
                detail: format!("{sender} bytes (limit {})", human_bytes(limits.sender_bytes)),
            });
        }
        if early {
            let used = state.early.get(&(from, job)).map_or(0, |u| u.bytes);
            if used.saturating_add(add) > limits.unknown_job_bytes {
                return Err(GatewayError::UnknownJobFull {
                    from,
                    job,
                    detail: format!("{} for this job", human_bytes(limits.unknown_job_bytes)),
                });
            }
        }
        Ok(())
    }

    fn release(&self, charge: &Charge) {
        let mut state = self.lock();
        state.total_bytes = state.total_bytes.saturating_sub(charge.bytes);
        if let Some(sender) = state.senders.get_mut(&charge.from) {
            sender.bytes = sender.bytes.saturating_sub(charge.bytes);
            sender.messages = sender.messages.saturating_sub(1);
            if sender.is_zero() {
                state.senders.remove(&charge.from);
            }
        }
        if charge.early
            && let Some(used) = state.early.get_mut(&(charge.from, charge.job))
        {
            used.bytes = used.bytes.saturating_sub(charge.bytes);
            used.messages = used.messages.saturating_sub(1);
            if used.is_zero() {
                state.early.remove(&(charge.from, charge.job));
                if !state.early.keys().any(|(_, job)| *job == charge.job) {
                    state.early_jobs.remove(&charge.job);
                }
            }
        }
    }

    /// Bytes and messages charged now.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let state = self.lock();
        (state.total_bytes, state.senders.values().map(|u| u.messages).sum())
    }
}

impl Charge {
    /// Whether it counts against the unknown-job limits.
    pub(crate) fn is_early(&self) -> bool {
        self.early
    }

    /// Charges `bytes` more payload, as it arrives.
    pub(crate) fn grow(&mut self, bytes: usize) -> Result<()> {
        let ledger = Arc::clone(&self.ledger);
        let mut state = ledger.lock();
        if state.ended.contains(&self.job) {
            return Err(GatewayError::JobEnded(self.job));
        }
        Ledger::check_bytes(&ledger.limits, &state, self.from, self.job, self.early, bytes)?;
        state.total_bytes += bytes;
        if let Some(sender) = state.senders.get_mut(&self.from) {
            sender.bytes += bytes;
        }
        if self.early
            && let Some(used) = state.early.get_mut(&(self.from, self.job))
        {
            used.bytes += bytes;
        }
        self.bytes += bytes;
        Ok(())
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.ledger.release(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: PeerId = PeerId::from_bytes([1; 20]);
    const B: PeerId = PeerId::from_bytes([2; 20]);

    fn ledger(f: impl FnOnce(&mut GatewayConfig)) -> Arc<Ledger> {
        let mut config = GatewayConfig::default();
        f(&mut config);
        Ledger::new(&config)
    }

    #[test]
    fn empty_messages_are_charged_and_released() {
        let ledger = ledger(|c| c.max_queued_messages_per_sender = 3);
        ledger.admit(1, Arc::new([A, B].into()));
        let held: Vec<Charge> = (0..3).map(|_| ledger.begin(A, 1, 1, 0).unwrap()).collect();
        assert_eq!(ledger.usage(), (3 * (MESSAGE_OVERHEAD_BYTES + 1), 3));
        assert!(matches!(ledger.begin(A, 1, 1, 0), Err(GatewayError::SenderQueueFull { .. })));
        // Another sender is not affected.
        let _b = ledger.begin(B, 1, 1, 0).unwrap();
        drop(held);
        assert_eq!(ledger.usage(), (MESSAGE_OVERHEAD_BYTES + 1, 1));
    }

    #[test]
    fn payload_is_charged_as_it_arrives_within_the_senders_share() {
        let ledger = ledger(|c| {
            c.max_queued_bytes = 10_000;
            c.max_queued_bytes_per_sender = 4_000;
        });
        ledger.admit(1, Arc::new([A, B].into()));
        let mut a = ledger.begin(A, 1, 0, 1 << 30).unwrap();
        assert_eq!(ledger.usage().0, MESSAGE_OVERHEAD_BYTES);
        a.grow(3_000).unwrap();
        assert!(matches!(a.grow(1_000), Err(GatewayError::SenderQueueFull { .. })));
        let mut b = ledger.begin(B, 1, 0, 0).unwrap();
        b.grow(3_000).unwrap();
        drop((a, b));
        assert_eq!(ledger.usage(), (0, 0));
    }

    #[test]
    fn unknown_jobs_take_a_few_messages_per_sender_and_ended_jobs_none() {
        let ledger = ledger(|c| {
            c.unknown_job_messages = 2;
            c.unknown_jobs_per_sender = 2;
        });
        let _held: Vec<Charge> = (0..2).map(|_| ledger.begin(A, 9, 0, 0).unwrap()).collect();
        assert!(matches!(ledger.begin(A, 9, 0, 0), Err(GatewayError::UnknownJobFull { job: 9, .. })));
        let _other = ledger.begin(A, 10, 0, 0).unwrap();
        assert!(matches!(ledger.begin(A, 11, 0, 0), Err(GatewayError::UnknownJobFull { job: 11, .. })));
        assert!(matches!(ledger.begin(A, 12, 0, 8 * crate::MIB), Err(GatewayError::UnknownJobFull { .. })));
        // Once admitted, participants are no longer held to the unknown-job limits.
        ledger.admit(9, Arc::new([A].into()));
        let _more = ledger.begin(A, 9, 0, 0).unwrap();
        assert!(matches!(ledger.check_job(B, 9), Err(GatewayError::NotParticipant { .. })));
        ledger.end(9);
        assert!(matches!(ledger.begin(A, 9, 0, 0), Err(GatewayError::JobEnded(9))));
        assert!(!ledger.admit(9, Arc::new([A].into())));
    }

    #[test]
    fn the_sweep_of_unknown_jobs_spares_a_job_admitted_since() {
        let ledger = ledger(|c| c.unknown_job_ttl = Duration::ZERO);
        // A peer started first: its message came before this node admitted the job.
        let _early = ledger.begin(A, 5, 0, 0).unwrap();
        let never = ledger.begin(B, 6, 0, 0).unwrap();
        ledger.admit(5, Arc::new([A, B].into()));
        ledger.lock().last_sweep = Instant::now() - SWEEP_EVERY;
        assert_eq!(ledger.expired_unknown_jobs(), vec![6], "only the job never admitted expires");
        // Job 6 still holds a charge (a message in reassembly, say): the next
        // sweep looks at it again.
        ledger.lock().last_sweep = Instant::now() - SWEEP_EVERY;
        assert_eq!(ledger.expired_unknown_jobs(), vec![6]);
        drop(never);
        assert!(ledger.lock().early_jobs.is_empty(), "released with its last charge");
    }
}
