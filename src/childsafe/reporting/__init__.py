"""Reports to hotlines: NCMEC's CyberTipline (XML API) and structured exports for others."""
