"""Sizing the loop: a bin's recommended card quantity from its demand and measured lead
time, the overview of every bin, and applying new card quantities. Entry module: ``loop``."""
