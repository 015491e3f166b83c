"""The one SVG chart kit of every report: interval bars, trend, histogram, funnel plot.

Each chart is a small typed function that returns `Markup` built from
`reporting.charts.svg.element`, so every text in it is escaped by
construction. The practice report's own marks (its rate row, its line and
bin in the histogram, its own trend line) are options of the same charts.
"""
