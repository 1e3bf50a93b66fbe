/**
 * The built-in English the generated tokenizer learns its merges from: common words and the vocabulary of image
 * prompts, roughly most frequent first (the trainer weights them by rank).
 */
const WORDS = `
a the of and in to with on at for by from is it as an or this that be are was his her their its he she they we you
i my your our not no but all one two three four five six seven eight nine ten very more most some many few much
photo picture image portrait painting drawing illustration render sketch art artwork style detailed quality best
high ultra resolution realistic photorealistic cinematic lighting light dark bright soft hard sharp focus
beautiful pretty cute lovely elegant gorgeous stunning amazing epic dramatic moody vivid vibrant colorful
masterpiece award winning trending professional studio shot close up full body face eyes hair skin smile
man woman boy girl child children person people old young beach city street forest mountain river lake sea ocean
sky cloud clouds sun sunset sunrise moon night day morning evening rain snow fog mist storm wind fire water
cat dog bird horse fish lion tiger bear wolf fox rabbit deer owl eagle dragon monster robot car house tree flower
walking running sitting standing holding wearing looking playing flying dancing reading smiling jumping
red blue green yellow orange purple pink black white gray grey brown gold golden silver
big small large tiny huge giant little long short tall wide round square
new good great bad first last next other same different own right left top bottom front back side inside
outside over under above below between behind near far around through into out up down off again still just
have has had do does did make made take took give gave get got see saw look looked come came go went know
think thought want wanted use used find found tell told ask asked work worked seem felt try tried leave call
time year years way day days thing things world life hand hands part place case week company system program
question government number night point home water room mother father area money story fact month lot right
study book books job word words business issue side kind head house service friend friends power hour game
line end member law car city community name president team minute idea kid body information school back parent
face others level office door health art war history party result change morning reason research girl guy
moment air teacher force education foot feet boy age policy everything process music market sense nation plan
college interest death experience effect class control care field development role effort rate heart drug
show leader light voice wife police mind price report decision son view relationship town road arm difference
value building action model season society tax director position player record paper space ground form event
official matter center couple site project activity star table need court oil situation cost industry figure
street image phone data picture practice piece land product doctor wall patient worker news test movie north
love support technology step baby computer type attention film tree source organization hair window evidence
population site plant rock stone glass metal wood wooden steel iron paper fabric leather silk cotton wool
castle palace tower temple church bridge garden park field farm village valley desert island cave canyon
waterfall volcano glacier meadow jungle swamp cliff hill hills shore coast harbor port ship boat train plane
airplane bicycle motorcycle truck bus rocket spaceship station planet galaxy universe star stars nebula
space astronaut alien creature animal animals insect butterfly bee spider snake frog turtle whale shark dolphin
octopus penguin parrot peacock swan duck chicken cow pig sheep goat elephant giraffe zebra monkey gorilla panda
koala kangaroo squirrel mouse rat hamster kitten puppy unicorn phoenix griffin mermaid fairy angel demon ghost
zombie vampire witch wizard knight warrior soldier samurai ninja pirate king queen prince princess emperor
lady gentleman chef artist musician scientist doctor nurse farmer fisherman hunter sailor pilot student
anime manga cartoon comic pixel vector digital oil watercolor acrylic charcoal pencil ink pastel
impressionism surrealism cubism baroque renaissance gothic victorian modern contemporary minimalist abstract
futuristic cyberpunk steampunk fantasy science fiction horror noir retro vintage classic ancient medieval
concept matte unreal engine octane blender photography camera lens canon nikon sony film grain bokeh depth
wide angle telephoto macro aerial drone view perspective symmetry composition rule thirds golden hour blue
volumetric ambient rim backlight backlit glow glowing neon shadow shadows reflection reflections refraction
texture textures pattern patterns smooth rough shiny glossy matte metallic transparent translucent opaque
hyper hyperrealistic hyperdetailed intricate elaborate ornate delicate fine crisp clean clear blurry blurred
noise noisy grainy low worst normal lowres jpeg artifacts deformed distorted disfigured mutated extra missing
fingers limbs arms legs poorly drawn ugly duplicate morbid mutilated cropped frame border watermark signature
text username error bad anatomy proportions cloned gross malformed fused out of
dress shirt jacket coat hat cap helmet armor armour boots shoes gloves scarf necklace ring earrings crown
glasses sunglasses mask uniform suit tie skirt jeans pants shorts sweater hoodie robe cloak cape kimono
food fruit apple orange banana cherry strawberry lemon grape bread cake pizza burger coffee tea wine beer cup
bowl plate table chair bed sofa lamp candle clock mirror book shelf desk computer laptop phone screen
guitar piano violin drum microphone headphones speaker
happy sad angry calm serene peaceful quiet lonely mysterious magical mystical ethereal dreamy surreal whimsical
dark gloomy sinister creepy scary cozy warm cold hot cool fresh wet dry frozen burning melting floating
kitchen bathroom bedroom living hall library museum gallery shop store restaurant cafe bar hotel hospital
school university classroom office factory warehouse garage basement attic roof balcony window windows door
stairs floor ceiling corridor alley road highway path trail sidewalk crowd market festival parade concert
summer winter spring autumn fall weather rainy snowy sunny cloudy foggy stormy
morning noon afternoon twilight dusk dawn midnight
north south east west center middle corner edge
japan japanese china chinese india indian france french italy italian spain spanish germany german england
english america american africa african europe european russia russian korea korean egypt egyptian greek roman
paris london tokyo york rome venice berlin moscow cairo
mountains trees flowers leaves grass rocks stones waves sand dunes ice crystal crystals diamond gem gems pearl
feather feathers wings wing tail horns claws teeth fur scales
line lines shape shapes circle circles triangle cube sphere spiral geometric fractal
edge edges canny depth map normal segmentation pose openpose scribble soft lineart shuffle tile inpaint
detector hint control net controlnet
cinema movie poster cover album magazine book advertisement logo icon emblem badge
sculpture statue bust marble bronze clay ceramic porcelain origami paper cut stained mosaic tapestry mural
graffiti tattoo
portrait landscape seascape cityscape still life interior exterior architecture building skyscraper
highly extremely very incredibly insanely super slightly
made created designed painted drawn rendered photographed captured
standing looking facing holding carrying riding sitting lying sleeping eating drinking smoking fighting
swimming climbing falling rising floating exploding
by artstation deviantart behance pixiv unsplash instagram
`;

/** The word list with weights: earlier words count more (a Zipf-like 1/rank falloff). */
export function builtinWordCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  const words = WORDS.split(/\s+/).filter((w) => w.length > 0);
  words.forEach((word, rank) => {
    if (!counts.has(word)) counts.set(word, Math.max(1, Math.round(100000 / (rank + 10))));
  });
  return counts;
}
