//! Front doors that speak other products' wire formats. Each maps requests onto the
//! same [`Services`](crate::services::Services) as the native API and renders the
//! answers its clients expect; none holds rules of its own.

pub mod cloudspot;
pub mod common;
pub mod maestro;
pub mod squirro;
