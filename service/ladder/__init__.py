"""The tier ladder: designations, the current tier and the eligibility engine."""
