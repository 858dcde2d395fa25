//! The evidence plane: what Switchyard records and reckons about requests. For now the price
//! table and cost arithmetic; events, the hash chain and stores grow here.
#![forbid(unsafe_code)]

pub mod pricing;
