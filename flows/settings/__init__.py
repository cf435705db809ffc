"""Configuration (the sources file, NEWSDESK_* variables) and how command-line flow runs reach Prefect."""
