"""Handing jobs to the generation workers: the queue's messages, and the dispatch sweeper that no job escapes."""
