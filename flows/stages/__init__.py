"""The stages the flows' tasks call, as plain functions: poll, fetch, build articles, load, record the run."""
