//! Integration tests of wefe-ml: vertical LR on real data over the in-memory transport.

mod breast_cancer;
