-- vu: the renderer's own raw blocks in a Quarto source (vu_lib.publish.quarto).
-- The source is read with every raw passthrough off (no raw HTML, no raw
-- attribute blocks `{=html}`/`{=typst}`, no raw TeX), so no text, from data or
-- a Markdown cell, can become HTML or typst. vu's own markup (title block,
-- charts, tables, footer) stands in the source as a paragraph holding a token
-- with a per-document random nonce; the blocks are in a JSON file beside the
-- source (the document's `vu-raw` field): {"<token>": {"format": "html", "text": "…"}}.
-- Here each token paragraph becomes its raw block again; a block for another
-- output format is dropped by the writer, as a fenced raw block would be.
local function read_blocks(meta)
  local name = meta["vu-raw"]
  if name == nil then return nil end
  name = pandoc.utils.stringify(name)
  local input = (quarto and quarto.doc and quarto.doc.input_file) or (PANDOC_STATE.input_files[1]) or "."
  local candidates = { pandoc.path.join({ pandoc.path.directory(input), name }), name }
  for _, path in ipairs(candidates) do
    local f = io.open(path, "r")
    if f then
      local text = f:read("a")
      f:close()
      return pandoc.json.decode(text, false)
    end
  end
  error("vu-raw.lua: " .. name .. " saknas")
end

function Pandoc(doc)
  local blocks = read_blocks(doc.meta)
  if blocks == nil then return nil end
  local function token_block(el)
    if #el.content == 1 and el.content[1].t == "Str" then
      local b = blocks[el.content[1].text]
      if b ~= nil then return pandoc.RawBlock(b.format, b.text) end
    end
    return nil
  end
  return doc:walk({ Para = token_block, Plain = token_block })
end
