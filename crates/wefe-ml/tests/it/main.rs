//! Integration tests of wefe-ml: vertical LR on real data over the in-memory transport, and
//! SecureBoost accuracy against XGBoost reference numbers.

mod breast_cancer;
mod secureboost_accuracy;
