"""The polite, guarded HTTP fetcher that every feed and page request goes through."""
