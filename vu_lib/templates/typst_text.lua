-- vu: text as text in typst.
-- pandoc's typst writer leaves some of typst's markup shorthands in plain text
-- ("..." becomes an ellipsis, "-?" a soft hyphen, quotes become curly), so a
-- text from data would not print as itself. Every ASCII punctuation character
-- of every text run is therefore backslash-escaped here, which typst prints
-- as the character itself. (Letters, digits and non-ASCII are left alone.)
function Str(el)
  if el.text:find("%p") then
    return pandoc.RawInline("typst", (el.text:gsub("%p", "\\%0")))
  end
end
