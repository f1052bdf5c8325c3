//! Paging shared by every list route: `page` (default 0), `per_page` (default
//! 100, `-1` for everything) and `include_deleted` (default false).

use serde::{Deserialize, Serialize};

/// `per_page` value that lifts the limit.
pub const ALL_PER_PAGE: i64 = -1;

/// Default `per_page` of the list routes.
pub const DEFAULT_PER_PAGE: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
    pub include_deleted: bool,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            page: 0,
            per_page: DEFAULT_PER_PAGE,
            include_deleted: false,
        }
    }
}

impl Paging {
    /// Every row, deleted ones included.
    pub fn all() -> Self {
        Self {
            page: 0,
            per_page: ALL_PER_PAGE,
            include_deleted: true,
        }
    }

    /// Every live row.
    pub fn all_live() -> Self {
        Self {
            page: 0,
            per_page: ALL_PER_PAGE,
            include_deleted: false,
        }
    }

    /// `(limit, offset)` for SQL, or `None` when the page is unbounded.
    pub fn limit_offset(&self) -> Option<(i64, i64)> {
        if self.per_page == ALL_PER_PAGE {
            None
        } else {
            Some((self.per_page, self.page.saturating_mul(self.per_page)))
        }
    }

    /// Rejects what is always a client mistake (the original accepts any
    /// integer): a negative page, or a `per_page` below `-1`.
    pub fn validate(&self) -> Result<(), crate::ValidationError> {
        if self.page < 0 {
            return Err(crate::ValidationError::new("page", "must be 0 or more"));
        }
        if self.per_page < ALL_PER_PAGE {
            return Err(crate::ValidationError::new(
                "per_page",
                "must be -1 (all) or 0 or more",
            ));
        }
        Ok(())
    }
}
