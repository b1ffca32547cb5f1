"""Haven: service directory and consent-based referral network for GBV survivors."""
