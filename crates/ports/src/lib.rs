//! # cloud-ports
