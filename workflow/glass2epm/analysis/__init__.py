"""Statistics and summaries shared by the stages, figures and report."""
