"""The book's runtime: what a chapter needs around the science, apart from the library.

    session   setup(): language, seed, threads, device, figure style; device() reads the choice
    claims    claim(text, condition) and the summary box that ends a chapter
    i18n      the edition's language: tr, pick, and text padded for monospace tables
    style     the figure style and the Hangul font (read from a wheel, no network)
    widgets   the interactive explorers of chapters 2 and 4
    cube      chapter 9's figure: which values share one mean and variance, for BN, LN, IN and GN

Chapters use these through ``normlib``'s top level (``nl.setup``, ``nl.claim``, ``nl.widgets``).
"""
