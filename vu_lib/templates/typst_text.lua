-- vu: text as text in typst.
-- pandoc's typst writer leaves some of typst's markup shorthands in plain text
-- ("..." becomes an ellipsis, "-?" a soft hyphen, quotes become curly), so a
-- text from data would not print as itself. Every ASCII punctuation character
-- of every text run of the body is therefore backslash-escaped here, which typst
-- prints as the character itself. (Letters, digits and non-ASCII are left alone.)
-- Only the body and only for typst output: the Quarto sources use this filter for
-- HTML too, and their metadata (file names for the template) must stay as it is.
local function literal(el)
  if el.text:find("%p") then
    return pandoc.RawInline("typst", (el.text:gsub("%p", "\\%0")))
  end
end

function Pandoc(doc)
  if not FORMAT:match("typst") then return nil end
  doc.blocks = doc.blocks:walk({ Str = literal })
  return doc
end
