"""Tools for people writing their own nodes."""
