"""Pure mail analysis: parsing, screening, classification, matching, authenticity,
admission, addresses and headers, attachments, outbound messages. Bytes in, facts out.
"""
