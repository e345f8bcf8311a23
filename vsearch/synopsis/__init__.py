"""Synopsis and passages: placement, background plates, rendering, stills."""
