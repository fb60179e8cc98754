"""Pictures drawn from captured data (tap records, measurements), for the lessons."""
