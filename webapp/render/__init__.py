"""Rendering projects into videos: stage storage, the pipeline of stage jobs, file serving."""
