//! Keyset pagination: a page is "up to `limit` rows after this key", never an offset.

use serde::{Deserialize, Serialize};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    /// The sort key of the last row of the previous page (an opaque cursor to clients).
    pub after: Option<String>,
}

impl PageRequest {
    /// Clamps the limit into `1..=MAX_PAGE_SIZE`, defaulting to `DEFAULT_PAGE_SIZE`.
    pub fn new(limit: Option<u32>, after: Option<String>) -> Self {
        Self {
            limit: limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE),
            after: after.filter(|a| !a.is_empty()),
        }
    }

    /// Rows to fetch: one more than the limit tells whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows, using `key` for the cursor.
    pub fn from_overfetch(
        mut rows: Vec<T>,
        request: &PageRequest,
        key: impl Fn(&T) -> String,
    ) -> Self {
        let limit = request.limit as usize;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(key)
        } else {
            None
        };
        Self { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overfetch_yields_cursor_only_when_more_rows_exist() {
        let request = PageRequest::new(Some(2), None);
        let page = Page::from_overfetch(vec![1, 2, 3], &request, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next.as_deref(), Some("2"));
        let last = Page::from_overfetch(vec![1, 2], &request, |n| n.to_string());
        assert_eq!(last.next, None);
    }

    #[test]
    fn limits_are_clamped() {
        assert_eq!(PageRequest::new(Some(0), None).limit, 1);
        assert_eq!(PageRequest::new(Some(10_000), None).limit, MAX_PAGE_SIZE);
        assert_eq!(PageRequest::new(None, Some(String::new())).after, None);
    }
}
