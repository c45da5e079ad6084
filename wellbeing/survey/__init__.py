"""survey feature: the staff side of a pulse, from the emailed link to the thank-you page."""
