"""Enterprises: the files the ledger keeps."""
