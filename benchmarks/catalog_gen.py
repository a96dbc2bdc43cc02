"""A generated product catalog for the search benchmark: mixed English and Russian titles.

Deterministic for a seed. A quarter of the products come from a long tail of small
brands (one per 20 products, pseudo-words, a third of them Russian), as on a
marketplace. About half the titles are English ("Samsung Galaxy S24 Ultra
256GB smartphone, black"), half Russian ("Смартфон Xiaomi Redmi Note 13 8/256 ГБ, чёрный"),
the Russian ones with Latin brands and models; a share of products carries the other
language's title as a translation, every product its category's English name and most
its Russian one; about 5% are out of stock. Prices spread evenly on a log scale from
1.00 to 5,000.00 (minor units), from a generator of their own. Used by `benchmarks/search.py`.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from shop.search_index import SearchDoc

# --- the catalog ----------------------------------------------------------------------
#
# Blocks of "%% category en / category ru | sizes | colours", then "n:" nouns
# ("english = русский gender", gender m/f/n/p for the adjective endings), "a:" adjectives
# (Russian in the masculine), and one line per brand: "Brand[/Бренд]: series; series".
# A series template picks from [a|b|c] and numbers from {low-high/step}; "en~ru" gives a
# series in both languages. A size spec is "unit:value,value".

CATALOG = """
%% Smartphones / Смартфоны | GB:4/64,6/128,8/128,8/256,12/256,12/512,128,256,512 | colours
n: smartphone = смартфон m; mobile phone = мобильный телефон m
a: gaming = игровой; rugged = защищённый; foldable = складной; compact = компактный
Samsung: Galaxy S{21-25}[| Ultra| FE|+]; Galaxy A{05-56}[| 5G]; Galaxy Z [Fold|Flip]{3-6}
Apple: iPhone {11-16}[| Pro| Pro Max| Plus| mini]
Xiaomi: Redmi Note {10-14}[| Pro| Pro+| 5G]; Redmi {10-14}[|C]; Poco [X|F|M]{3-7}[| Pro| GT]; {12-15}[|T| Pro| Ultra]
Honor: {50-200/10}[| Lite| Pro]; Magic{4-7}[| Pro| Lite]; X{6-9}[|a|b|c]
Huawei: nova {9-13}[| Pro| SE]; P{40-60/10}[| Pro| Pocket]; Mate {40-60/10}[| Pro| X]
Realme: {9-13}[| Pro| Pro+]; C{30-67}; GT {3-6}[| Neo]
OnePlus: {9-13}[|R|T]; Nord CE{2-4}[| Lite]; Nord {2-4}
Google: Pixel {6-9}[|a| Pro| Pro XL]
Motorola: Moto G{14-85}; Edge {30-50/10}[| Neo| Fusion| Ultra]
Tecno: Spark {10-30/10}[| Pro|C]; Camon {20-30/10}[| Pro]; Pova {5-6}[| Pro]
Infinix: Hot {30-50/10}[|i| Pro]; Note {30-40/10}[| Pro]; Zero {30-40/10}
Vivo: Y{17-36}; V{25-40/5}[| Pro]
OPPO: Reno{8-12}[| Pro|F]; A{17-98}
Nokia: G{10-60/10}; C{12-32/10}
Nothing: Phone ({1-3})[|a]

%% Tablets / Планшеты | GB:4/64,8/128,8/256,64,128,256 | colours
n: tablet = планшет m
a: children's = детский; gaming = игровой; rugged = защищённый
Apple: iPad[| Air| Pro| mini] {5-11}
Samsung: Galaxy Tab S{7-10}[| FE| Ultra|+]; Galaxy Tab A{7-9}[| Lite|+]
Xiaomi: Pad {5-7}[| Pro]; Redmi Pad[| SE| Pro]
Huawei: MatePad {10-11}[| Air| Pro| SE]
Lenovo: Tab P{11-12}[| Pro| Plus]; Tab M{8-11}
Honor: Pad {8-9}; Pad X{8-9}
Teclast: T{40-60/5}[| Pro| Plus]; M{40-50/10}[| Pro| Air]

%% Laptops / Ноутбуки | GB:8/256,8/512,16/512,16/1024,32/1024,256,512 | colours
n: laptop = ноутбук m; notebook = ноутбук m
a: gaming = игровой; thin = тонкий; light = лёгкий; professional = профессиональный
Lenovo: IdeaPad Slim {3-5} {14-16}; ThinkPad [E|T|X]{14-16} Gen {2-5}; Legion [5|7|Pro 5|Pro 7] {15-16}; Yoga Slim {6-7}
ASUS: VivoBook [|S |Pro ]{14-16}[| OLED|X]; ZenBook {13-14}[| OLED| Duo]; ROG Strix G{15-18}; TUF Gaming [A|F]{15-17}
HP: Pavilion {14-15}; Victus {15-16}; EliteBook {840-860/20} G{8-11}; ProBook {440-460/10} G{8-10}
Acer: Aspire {3-7} A{315-517}; Nitro [5|V] AN{515-517}; Swift Go {14-16}
Apple: MacBook [Air|Pro] {13-16} M{1-4}[| Pro| Max]
MSI: Modern {14-15}; Katana {15-17}; Cyborg {14-15}
Dell: Inspiron {3520-3530}; Vostro {3510-3530}; XPS {13-17}
Huawei: MateBook D{14-16}; MateBook X Pro
Honor: MagicBook [|X |Pro ]{14-16}
Infinix: InBook [X|Y]{1-3} [Slim|Plus|Pro]

%% Headphones / Наушники | | colours
n: headphones = наушники p; earbuds = наушники-вкладыши p; headset = гарнитура f
a: wireless = беспроводной; noise-cancelling = шумоподавляющий; gaming = игровой; sports = спортивный; wired = проводной; over-ear = полноразмерный
Sony: WH-1000XM{3-5}; WF-1000XM{3-5}; WH-CH{510-720/10}N; INZONE H{3-9}
JBL: Tune {510-770/10}[BT|NC|TWS]; Live {460-770/10}NC; Wave [Beam|Flex|Buds]; Quantum {100-910/50}
Apple: AirPods [|Pro |Max ]{2-4}
Samsung: Galaxy Buds{2-3}[| Pro| FE| Live]
Sennheiser: Momentum {3-4}[| Wireless| True Wireless]; HD {350-660/50}[| BT| S]
Bose: QuietComfort [35|45| Ultra| Earbuds]; SoundLink [Flex|Micro|Revolve]
Xiaomi: Redmi Buds {4-6}[| Pro| Lite| Active]
Huawei: FreeBuds {4-6}[|i| Pro| SE]
Marshall: Major {3-5}; Minor {3-4}; Motif A.N.C.
Beats: Studio{3-4}[| Pro]; Solo {3-4}; Fit Pro
Audio-Technica: ATH-M{20-50/10}x[|BT]
Anker: Soundcore Life Q{20-35}; Soundcore Liberty {4-5}[| NC| Pro]
HyperX: Cloud [II|III|Alpha|Stinger 2]
Razer: BlackShark V{2-3}[| Pro| X]; Kraken [V3|X|Kitty]
Logitech: G{335-935/100}[| Lightspeed]
Edifier: W{800-830/10}BT[| Plus| NB]
Honor: Earbuds {2-3}[| Lite| Pro]

%% Smartwatches / Умные часы | | colours
n: smartwatch = умные часы p; fitness tracker = фитнес-браслет m; sports watch = спортивные часы p
a: waterproof = водонепроницаемый; kids' = детский; men's = мужской; women's = женский
Apple: Watch Series {7-10} [41|45]mm; Watch SE [40|44]mm; Watch Ultra {1-2}
Samsung: Galaxy Watch{4-7}[| Classic| Pro| FE]
Xiaomi: Smart Band {7-9}[| Pro| Active]; Redmi Watch {3-5}[| Active]
Huawei: Watch GT {3-5}[| Pro]; Watch Fit {2-3}; Band {8-9}
Amazfit: GTR {3-4}[| Pro| Mini]; GTS {3-4}[| Pro| Mini]; Bip {3-5}[| Pro| Unity]; T-Rex {2-3}[| Pro| Ultra]; Balance; Active[| Edge]
Garmin: Forerunner {55-965/10}; Fenix {6-8}[| Pro| Solar]; Venu {2-3}[|S| Sq]; Instinct {2-3}[| Solar]
Honor: Band {7-9}; Watch {4-5}[| Pro]
Elari: KidPhone {4-5}[G| Lite]
Aimoto: [Start 2|Active Pro|Free|Trend|Concept]

%% TVs / Телевизоры | inch:32,43,50,55,65,75,85 |
n: TV = телевизор m; smart TV = смарт-телевизор m
a: curved = изогнутый; frameless = безрамочный
Samsung: UE[43|50|55|65]CU{7100-8100/500}U; QE[55|65|75]Q{60-80/10}C; QE[55|65]QN{85-95/5}D
LG: [43|50|55|65]UR{7800-8100/100}6LK; OLED[42|48|55|65|77]C{2-4}; [50|55|65|75]QNED{80-86/3}
Xiaomi: TV A[| Pro] 2025; TV Q{1-2} [50|55|65]; Mi TV P{1-2}
Hisense: [43|50|55|65]A{6-7}K; [55|65|75|85]U{6-8}K
TCL: [43|50|55|65]C{635-845/10}; [43|55|65]P{635-755/10}
Sony: Bravia KD-[43|50|55|65]X{75-85/5}K; Bravia XR-[55|65|77]A{80-95/5}L
Philips: [43|50|55|65]PUS{7008-8808/100}
Haier: [32|43|55|65] Smart TV S{1-5}
KIVI: [32|43|50|55]U{740-790/10}LB
Hyundai: H-LED[32|43|50|55]BU{7003-7009}

%% Monitors / Мониторы | inch:24,27,32,34 |
n: monitor = монитор m
a: gaming = игровой; curved = изогнутый; office = офисный; wide = широкоформатный
Samsung: Odyssey G{3-9}; ViewFinity S{6-9}; Smart Monitor M{5-8}
LG: UltraGear [24|27|32]GN{600-950/50}; UltraWide [29|34]WQ{500-650/50}
Dell: S[24|27|32]{21-22}[H|HN|DGF]; P[24|27]{19-23}H
AOC: [24|27]G{2-4}[U|SPU|E]; Q[27|32]G{3-4}S
ASUS: TUF Gaming VG{249-279/10}Q{1-3}; ProArt PA{248-329/27}
MSI: Optix G{24-32/2}C{4-6}; MAG {274-342/17}[QRF|CQR]
BenQ: GW{2475-2790/35}[H|T]; MOBIUZ EX{2510-2710/100}
Philips: [243|273|328]V{5-8}
Acer: Nitro [VG240Y|XV272U|KG241Y]
Xiaomi: Gaming Monitor G{24-34/3}

%% Keyboards / Клавиатуры | | colours
n: keyboard = клавиатура f
a: mechanical = механический; wireless = беспроводной; gaming = игровой; compact = компактный
Logitech: MX Keys[| Mini| S]; [K120|K380|K400 Plus|K780|K855]; [G213|G413|G513|G815|G915|G Pro]
Razer: BlackWidow V{3-4}[| Pro| Mini]; Huntsman [Mini|V2|V3 Pro]; Ornata V{2-3}
HyperX: Alloy [Origins|Origins Core|Origins 60|Rise]
SteelSeries: Apex {3-9}[| Pro| TKL| Mini]
Keychron: K{1-12}[| Pro| Max]; Q{1-6}[| Max]
A4Tech: Bloody B{120-975/5}
Redragon: [Kumara K552|Fizz K617|Draconic K530|Shrapnel K589]
Defender: [Oscar SM-600|Element HB-520|Blitz GK-240L]
Microsoft: [Surface Keyboard|Designer Compact|Ergonomic Keyboard]

%% Computer mice / Компьютерные мыши | | colours
n: mouse = мышь f; computer mouse = компьютерная мышь f
a: wireless = беспроводной; gaming = игровой; ergonomic = эргономичный; silent = бесшумный
Logitech: MX Master {2-3}[S]; MX Anywhere {2-3}[S]; [M185|M190|M330 Silent|M650|M720 Triathlon]; [G102|G305|G502 X|G Pro X Superlight|G703]
Razer: DeathAdder V{2-3}[| Pro| Essential]; Viper [V2 Pro|Mini|Ultimate|V3 HyperSpeed]; Basilisk V3[| Pro| X]; Orochi V2
HyperX: Pulsefire [Haste|Haste 2|Surge|FPS Pro]
SteelSeries: [Rival 3|Rival 5|Rival 600|Aerox 3|Aerox 5|Prime]
A4Tech: Bloody [V7|V8|A70|A90|P85|ES5]
Xiaomi: Mi Dual Mode Wireless Mouse[| Silent Edition]; Mi Portable Mouse 2
Zowie: [EC2-C|FK1-C|S2-C|ZA13-C]
Glorious: Model [O|D|I|O Minus]

%% Power banks / Внешние аккумуляторы | mAh:5000,10000,20000,30000 | colours
n: power bank = внешний аккумулятор m; powerbank = повербанк m
a: portable = портативный; compact = компактный; magnetic = магнитный
Xiaomi: Mi Power Bank {3-4}[| Pro| Ultra Compact]; Redmi Power Bank[| Fast Charge]
Anker: PowerCore [10000|20000|26800][| Redux| Slim]; Nano Power Bank; MagGo
Baseus: Bipow[| Pro| Digital Display]; Adaman[| 2]; Blade
Ugreen: Nexode PB{501-725/8}
Romoss: PHP{10-30/10}; Sense {4-8}[| Pro| Plus]
Hoco: J{72-131}[|A|B]

%% Chargers / Зарядные устройства | W:20,30,45,65,100,140 | colours
n: charger = зарядное устройство n; wall charger = сетевое зарядное устройство n; charging cable = кабель для зарядки m
a: fast = быстрый; wireless = беспроводной; compact = компактный
Anker: Nano {2-4}; PowerPort [III|Atom]
Baseus: GaN{3-6} Pro; Cafule [USB-C|Lightning]
Ugreen: Nexode [Mini|Pro|Air]; US{286-557/7}
Apple: [USB-C Power Adapter|MagSafe Charger|USB-C to Lightning Cable]
Samsung: EP-T{2510-6510/1000}; EP-DN{980-980}
Borofone: BX{14-90/4}; BA{20-70/10}A

%% Portable speakers / Портативные колонки | W:5,10,20,30,40,100 | colours
n: portable speaker = портативная колонка f; smart speaker = умная колонка f; speaker = колонка f
a: wireless = беспроводной; waterproof = водонепроницаемый; portable = портативный
JBL: Flip {4-6}; Charge {4-5}; Go {3-4}; Clip {4-5}; PartyBox {110-710/200}; Boombox {2-3}
Marshall: Emberton [I|II|III]; Stanmore [II|III]; Acton [II|III]; Willen
Sony: SRS-XB{13-43/10}; SRS-XE{200-300/100}; ULT Field [1|7]
Yandex/Яндекс: Station [Mini|Lite|Max|2]~Станция [Мини|Лайт|Макс|2]
Sber/Сбер: Boom [Mini|Home]~Бум [Мини|Хоум]
Tronsmart: [T7|Bang|Mega Pro|Force 2]
Xiaomi: Mi Portable Bluetooth Speaker; Sound [Pocket|Outdoor|Move]

%% Cameras / Фотоаппараты | | colours
n: camera = фотоаппарат m; mirrorless camera = беззеркальный фотоаппарат m; digital camera = цифровой фотоаппарат m
a: compact = компактный; professional = профессиональный
Canon: EOS R{5-100/5}; EOS {250-2000/250}D; PowerShot G{5-7} X Mark {2-3}
Nikon: Z{5-9}[| II]; Z fc; D{3500-7500/500}; Coolpix P{950-1000/50}
Sony: Alpha A{6100-7700/100}; ZV-E10; ZV-1[| II]; Cyber-shot RX100
Fujifilm: X-T{30-50/10}; X-S{10-20/10}; X100VI
Panasonic: Lumix [S5|G9|GH6|FZ300|TZ200]

%% Action cameras / Экшн-камеры | GB:64,128,256 | colours
n: action camera = экшн-камера f; camera = камера f
a: waterproof = водонепроницаемый; compact = компактный
GoPro: HERO{9-12} Black; MAX
Insta360: X{3-4}; GO 3; Ace Pro
DJI: Osmo Pocket {2-3}; Osmo Action {3-5}[| Pro]
SJCAM: SJ{4000-10000/1000}[| Pro| Air]
Digma: DiCam {300-880/10}

%% Routers / Роутеры | | colours
n: router = роутер m; Wi-Fi router = Wi-Fi роутер m; mesh system = mesh-система f
a: dual-band = двухдиапазонный; gaming = игровой
TP-Link: Archer AX{10-73}; Archer C{6-80/2}; Deco M{4-9}[| Plus]
Keenetic: [Giga|Ultra|Speedster|Viva|Hopper|Peak|Titan]
Xiaomi: Mi Router AX{1500-9000/500}; Router AX3000T
ASUS: RT-AX{53-88/5}U[| Pro]
Mercusys: MR{30-70/10}X
Huawei: WiFi AX{2-3}[| Pro]

%% Storage / Накопители | GB:32,64,128,256,512,1000,2000 |
n: memory card = карта памяти f; SSD = SSD-накопитель m; flash drive = флешка f; external SSD = внешний SSD m
a: fast = быстрый; portable = портативный
Samsung: EVO Plus; PRO Plus; [870|980|990] [EVO|PRO]; T{7-9}[| Shield| Touch]
Kingston: Canvas [Select Plus|Go Plus|React Plus]; NV{2-3}; A400; KC3000; Fury Renegade; DataTraveler Exodia
SanDisk: Ultra[| Fit| Dual Drive]; Extreme[| PRO| Portable]
WD: Blue SN{550-580/30}; Black SN{770-850/80}X; Green
Crucial: P{3-5}[| Plus]; MX500; BX500
ADATA: Legend {700-960/10}; XPG Spectrix S{20-70/10}G
Transcend: JetFlash {700-930/10}; ESD{310-380/10}C

%% Printers / Принтеры | | colours
n: printer = принтер m; multifunction printer = МФУ n; laser printer = лазерный принтер m
a: colour = цветной; wireless = беспроводной; office = офисный
HP: LaserJet [Pro |]M{111-428/3}[w|dw|fdn]; DeskJet {2710-4120/10}[e]; Smart Tank {515-790/5}
Canon: PIXMA G{1410-3470/10}; i-SENSYS MF{3010-3010}; i-SENSYS LBP{6030-6030}[B|W]
Epson: L{3150-8180/10}; EcoTank L{3250-6290/10}
Brother: HL-L{2300-2375/5}DW; DCP-L{2500-2560/10}DWR
Pantum: P{2207-2516}W; M{6500-7100/100}DW
Xerox: B{210-235/5}; Phaser {3020-3020}

%% Game consoles / Игровые приставки | GB:512,825,1000 | colours
n: game console = игровая приставка f; gamepad = геймпад m; handheld console = портативная консоль f
a: wireless = беспроводной; portable = портативный
Sony: PlayStation {4-5}[| Slim| Pro| Digital Edition]; DualSense[| Edge]; DualShock 4
Microsoft: Xbox Series [X|S]; Xbox Wireless Controller
Nintendo: Switch[| OLED| Lite]; Joy-Con
Valve: Steam Deck [OLED|LCD]
8BitDo: Ultimate [Bluetooth|2C|C]; Pro {2-3}
Gamesir: [G7|T4 Pro|X2|Nova Lite]

%% E-book readers / Электронные книги | GB:8,16,32 | colours
n: e-book reader = электронная книга f; e-reader = ридер m
a: waterproof = водонепроницаемый; backlit = с подсветкой
PocketBook: {614-743/3}; Verse[| Pro]; InkPad [Lite|Color 3|4]; Era[| Color]
Amazon: Kindle[| Paperwhite| Oasis| Scribe] {10-12}
ONYX BOOX: Note Air{2-3}; Nova Air C; Leaf{2-3}; Poke{4-5}
Digma: E{60-63}[|C]

%% Kettles / Чайники | L:1,1.5,1.7,2 W:1800,2000,2200 | colours
n: kettle = чайник m; electric kettle = электрический чайник m
a: glass = стеклянный; ceramic = керамический; smart = умный; metal = металлический
Bosch: TWK{3000-8613/11}; TWK[1|2|3|4]{1-9}[|A]
Philips: HD{9300-9365/5}[|/90|/20]
Tefal: KI{150-880/10}D; Loft KO{250-251}
Xiaomi: Mi Smart Kettle[| Pro]; Electric Kettle [2|2 Lite|S1]
Redmond: RK-M{130-216/3}[|S]; SkyKettle G{200-214}S
Polaris: PWK {1702-2099/5}[CGLD|CA|CAD]
Kitfort: KT-{6001-6200/7}
Scarlett: SC-EK{18-27}S{01-99}
Braun: WK {3000-5115/5}
Smeg: KLF{03-04}[PG|CR|BL|RD]

%% Coffee machines / Кофемашины | W:1300,1450,1500 L:1.2,1.8 | colours
n: coffee machine = кофемашина f; coffee maker = кофеварка f; espresso machine = эспрессо-машина f
a: automatic = автоматический; capsule = капсульный; drip = капельный; compact = компактный
De'Longhi: Magnifica [S|Evo|Start] ECAM {220-290/5}; Dedica EC{685-885/100}; Dinamica Plus
Philips: EP{1220-5447/7}[|/00|/40|/90]; LatteGo {2200-5400/100}
Saeco: [Xelsis|GranAroma|PicoBaristo] SM{6580-8889/7}
Jura: E{6-8}; ENA {4-8}; Z10; S8
Krups: EA{8108-8918/10}; Evidence [One|Plus]
Nespresso: Vertuo [Pop|Next|Plus]; Essenza Mini; Citiz
Melitta: Caffeo [Solo|Barista T Smart|Purista]
Bosch: VeroCup {100-500/100}; Tassimo [Vivy 2|Style|Happy]
Garlyn: L{70-1000/10}; M-{10-20}

%% Small kitchen appliances / Малая техника для кухни | W:300,600,800,1000,1200 | colours
n: blender = блендер m; hand blender = погружной блендер m; mixer = миксер m; toaster = тостер m; food processor = кухонный комбайн m; meat grinder = мясорубка f
a: powerful = мощный; compact = компактный; professional = профессиональный; electric = электрический
Braun: MultiQuick {5-9} MQ {5000-9195/5}
Bosch: ErgoMixx[| Style]; MaxoMixx; MUM{5-9} [Serie 2|Serie 4|Serie 6]
Philips: HR{2600-3760/4}[|/00|/90]
KitchenAid: Artisan 5KSM{125-185/5}; 5KSB{1585-4026/7}
Kitfort: KT-{1300-1399}
Moulinex: [QuickChef|Infiny Mix|Easy Mix] DD{6510-6710/10}
Vitek: VT-{1100-8600/7}
Smeg: TSF{01-03}; BLF{01-03}
Redmond: RHB-{2900-2999}; RFP-{3900-3999}

%% Vacuum cleaners / Пылесосы | W:400,600,1400,1800,2000 | colours
n: vacuum cleaner = пылесос m; robot vacuum = робот-пылесос m; cordless vacuum = беспроводной пылесос m
a: cordless = беспроводной; washing = моющий; vertical = вертикальный; quiet = тихий
Dyson: V{8-15} [Absolute|Detect|Slim|Animal]; Gen5detect; Omni-glide
Xiaomi: Robot Vacuum S{10-20}[+| Pro]; Mi Vacuum Cleaner G{9-11}
Dreame: L{10-20}s [Ultra|Pro]; D{9-10} Plus; V{10-12}
Roborock: S{7-8}[| MaxV| Pro Ultra]; Q{5-8}[+| Max]; Qrevo [S|Pro|Master]
Samsung: Jet {60-90/15}[| Pet| Complete]; Bespoke Jet
Kärcher: WD {1-6}[ P| S]; VC {3-7}; SC {1-5} EasyFix
Tefal: X-Force Flex {8-15}; Air Force [360|Flex]
Philips: PowerPro [Active|Expert]; SpeedPro Max
Polaris: PVCR {1020-5001/7}
iRobot: Roomba [i3|i5|i7|j7|j9|Combo j5]

%% Irons and steamers / Утюги и отпариватели | W:1200,2000,2400,2800 | colours
n: iron = утюг m; steam iron = паровой утюг m; garment steamer = отпариватель m
a: steam = паровой; vertical = вертикальный; cordless = беспроводной
Philips: Azur DST{8020-8050/10}; PerfectCare GC{9660-9682/2}; {7000-8000/1000} Series STH{7020-7060/10}
Tefal: FV{9845-9867/2}; Ultragliss FV{4950-4990/10}; Pro Express GV{9220-9231}
Braun: TexStyle {7-9} SI{7042-9188/23}
Rowenta: Focus Excel DW{5320-5335/5}; Pro Master DW{8215-8221/2}
Bosch: Sensixx DA{70-70}; TDA{5028-5076/8}
Scarlett: SC-SI30K{10-99}

%% Hair care / Уход за волосами | W:1200,1600,2000,2200 | colours
n: hair dryer = фен m; hair straightener = выпрямитель для волос m; curling iron = плойка f; hair styler = стайлер m
a: professional = профессиональный; compact = компактный; ionic = ионный
Dyson: Supersonic [HD07|HD08|HD15|Origin]; Airwrap [Complete|Multi-styler]; Corrale
Philips: BHD{300-560/10}; BHS{375-752/7}
Braun: Satin Hair {5-7} HD{585-785/100}
Rowenta: Powerline; Studio Dry CV{5700-5930/10}
Xiaomi: Mi Ionic H{300-500/100}; Hair Dryer H{100-101}
Remington: AC{5999-9300/7}; S{3500-9100/100}
BaByliss: D{570-572}DE; 6704E; Pro Rapido
Polaris: PHD {1470-2280/10}Ti

%% Refrigerators / Холодильники | L:300,350,400,450 | colours
n: refrigerator = холодильник m; freezer = морозильник m; fridge freezer = холодильник с морозильником m
a: built-in = встраиваемый; two-chamber = двухкамерный; narrow = узкий; inverter = инверторный
Samsung: RB{30-38}T{602-672/10}; RB{33-38}A{3540-3740/100}
LG: GA-B{459-509/10}[CQSL|SLGL|MESL]; GC-B{399-509/10}SQCL
Bosch: Serie {4-6/2} KGN{39-49/5}VL; KGV{36-39}XW
Haier: C{2-4}F{636-744/9}CWG; HRF-{535-800/5}
Atlant/Атлант: XM-{4008-4626/2}~ХМ-{4008-4626/2}
Beko: RCNK {310-400/10}; B{1-3}RCNK{362-402/20}
Biryusa/Бирюса: {10-133}; M{118-136}
Indesit: ITS {4160-5200/40}; DS {4180-4200/5}
Gorenje: [NRK6192|RK6191|NRK6202|RB491]

%% Washing machines and dishwashers / Стиральные и посудомоечные машины | kg:6,7,8,9,10 | colours
n: washing machine = стиральная машина f; dishwasher = посудомоечная машина f; tumble dryer = сушильная машина f
a: built-in = встраиваемый; narrow = узкий; inverter = инверторный; freestanding = отдельностоящий
Samsung: WW{60-90/10}A{4-6}S; WW{80-90/10}T{554-654/100}
LG: F{2-4}V{3-9}; F{2-4}M{5-9}HS
Bosch: Serie {2-8/2} WAN{24140-28281/7}; SMS{24-46/2}AW
Haier: HW{60-90/10}-BP{12929-14959/10}; HWD{80-100/10}
Indesit: IWSB {5085-6105/5}; DSFE 1B{10-19}
Candy: CS{4-6} {1051-1272/11}D
Beko: WRE {6512-7612/100}; WSPE{6-7}H{612-616/2}
Midea: MFN{70-90/10}; MID{45-60/15}S{100-300/100}

%% Microwaves and ovens / Микроволновки и духовки | L:20,23,25,30 W:700,800,1000 | colours
n: microwave = микроволновая печь f; oven = духовой шкаф m; mini oven = мини-печь f
a: built-in = встраиваемый; inverter = инверторный; electric = электрический
Samsung: MS{23-23}K{3513-3515}A[W|S|K]; MG{23-30}K{3515-3515}AK
LG: MS{2042-2595/7}D[B|W|S]; MH{6336-6535/7}GIB
Bosch: HBF{113-134/3}[BR0R|BS0R]; BFL{524-634/10}MS0
Gorenje: [MO17E1W|MO20A3B|BO6735E02X]
Midea: MDRB{424-521/7}; MM{720-820/100}CXX
Redmond: RM-{2002-2503}D; SkyOven {4500-4505}S
Tefal: Optimo OF{4448-4448}; Delight OF{2825-2825}

%% Multicookers and air fryers / Мультиварки и аэрогрили | L:3,3.5,4,5,6 W:700,900,1500 | colours
n: multicooker = мультиварка f; air fryer = аэрогриль m; pressure cooker = скороварка f; bread maker = хлебопечка f
a: smart = умный; digital = цифровой; compact = компактный
Philips: Airfryer [XXL|XL|Essential] HD{9200-9880/10}
Tefal: Easy Fry [Classic|Deluxe|Grill] EY{2018-8018/500}
Xiaomi: Mi Smart Air Fryer; Smart Multicooker
Cosori: [Pro LE|Dual Blaze|Turbo Blaze|Lite]
Redmond: RMC-M{25-96}[|S]; SkyCooker M{800-900/10}S
Polaris: PMC {517-590}AD
Moulinex: Cook4Me[+| Connect]; Quickchef
Kitfort: KT-{2000-2300/3}

%% Climate / Климатическая техника | W:1000,1500,2000 | colours
n: fan = вентилятор m; heater = обогреватель m; humidifier = увлажнитель воздуха m; air purifier = очиститель воздуха m; air conditioner = кондиционер m
a: quiet = тихий; floor = напольный; desktop = настольный; smart = умный
Xiaomi: Mi Smart Standing Fan {2-3}[| Lite| Pro]; Smart Humidifier 2; Smart Air Purifier {4-4}[| Lite| Pro]
Dyson: Pure Cool TP{07-10}; Hot+Cool HP{07-10}; Purifier Humidify+Cool
Ballu: BFH/W-{102-204/2}; BEC/ATM-{1000-2000/500}; UHB-{200-990/10}
Electrolux: EOH/M-{6209-9209/1000}; EHU-{3710-5525/5}D; EACS-{07-24}HAT
Boneco: U{200-700/100}; H{300-700/100}; W{200-400/100}
Timberk: [THU UL|TEC PF|TOR]{21-51/2}
Royal Clima: RC-[VE|GL|PN]{26-70/2}HN

%% Toothbrushes / Зубные щётки | | colours
n: electric toothbrush = электрическая зубная щётка f; toothbrush = зубная щётка f; water flosser = ирригатор m
a: rechargeable = аккумуляторный; sonic = звуковой; kids' = детский
Oral-B: Pro {1-3} {500-3500/500}; iO {2-10/2}; Vitality Pro; Genius X
Philips: Sonicare [ProtectiveClean|DiamondClean|ExpertClean] {4300-9900/100}
Xiaomi: Mijia T{300-700/200}; Mijia Sonic
Revyline: RL {010-070/10}
Waterpik: WP-{100-670/10}
Soocas: X{3-5}U

%% Shavers and trimmers / Бритвы и триммеры | | colours
n: shaver = электробритва f; trimmer = триммер m; epilator = эпилятор m; hair clipper = машинка для стрижки f
a: rechargeable = аккумуляторный; waterproof = водонепроницаемый; men's = мужской; women's = женский
Philips: OneBlade[| Pro] QP{2520-6651/3}; Series {3000-9000/1000} S{3122-9985/7}
Braun: Series {3-9} {300-9560/10}[s|cc]; Silk-epil {5-9}
Xiaomi: Mijia S{300-700/200}; Enchen Blackstone [|3|5]
Panasonic: ES-LV{6-9}; ES-RT{47-87/10}
Remington: [PR1330|HC5810|MB4045|F5800]
Moser: [Chromstyle|Li+Pro|Genio Plus]

%% Coffee / Кофе | g:200,250,500,1000 |
n: coffee beans = кофе в зёрнах m; ground coffee = кофе молотый m; instant coffee = кофе растворимый m; coffee capsules = кофе в капсулах p
a: natural = натуральный; roasted = жареный; organic = органический; decaffeinated = без кофеина
Lavazza: Qualità [Oro|Rossa]; Crema e Aroma; Super Crema; Espresso Italiano; Gran Espresso; ¡Tierra!
Jacobs: Monarch[| Intense| Classico]; Barista Editions [Crema|Espresso|Americano]; Millicano; Velour
Paulig: Presidentti [Original|Gold Label|Black Label]; Mokka; Arvid
Illy: [Classico|Intenso|Decaffeinato|Forte]
Nescafé: Gold[| Barista| Aroma Intenso]; Classic; Dolce Gusto [Americano|Cappuccino|Latte Macchiato]
Carte Noire: [Original|Espresso Delicato|Crema Delice]
Julius Meinl: [Jubiläum|President|Espresso Classico]
Starbucks: [Pike Place|House Blend|Espresso Roast|Veranda Blend|Caffè Verona]
Mövenpick: [Der Himmlische|Caffè Crema|El Autentico]
Egoiste: [Private|Noir|Espresso|Truffle]
Lebo: [Original|Extra|Gold|Arabica]
Zhivoy Kofe/Живой Кофе: Espresso Brazil~Эспрессо Бразилия; Colombia Supremo~Колумбия Супремо; Ethiopia~Эфиопия
Chernaya Karta/Чёрная Карта: Gold~Голд; Exclusive~Эксклюзив
Jockey/Жокей: Classic~Классический; Imperial~Империал; For Turk~Для турки

%% Tea / Чай | g:50,100,200,250,500 pcs:20,25,100 |
n: tea = чай m; green tea = зелёный чай m; black tea = чёрный чай m; tea bags = чай в пакетиках m; herbal tea = травяной чай m
a: leaf = листовой; fruit = фруктовый; granulated = гранулированный; flavoured = ароматизированный
Lipton: Yellow Label; Green Tea Classic; Earl Grey; Forest Fruit
Greenfield: [Golden Ceylon|Earl Grey Fantasy|Flying Dragon|Kenyan Sunrise|Spring Melody|Christmas Mystery]
Ahmad Tea: [English Breakfast|Earl Grey|Ceylon Tea|Green Jasmine]
Curtis: [Original Ceylon|Hot Cherry Tart|Sunny Lemon|Summer Berries]
Tess: [Pleasure|Orange|Ginger Mojito|Flirt]
Richard: [Royal Ceylon|Lord Grey|Royal Kenya|Royal Thyme]
Maisky/Майский: Korona~Корона Российской Империи; Gold~Золотой; Classic~Классический
Princess Nuri/Принцесса Нури: High Mountain~Высокогорный; Pekoe~Пекое
Beseda/Беседа: Bergamot~С ароматом бергамота; Classic~Классическая

%% Chocolate and sweets / Шоколад и сладости | g:45,80,90,100,200,250 |
n: chocolate = шоколад m; milk chocolate = молочный шоколад m; dark chocolate = тёмный шоколад m; chocolate bar = шоколадный батончик m; chocolates = конфеты p; cookies = печенье n; wafers = вафли p
a: bitter = горький; porous = пористый; white = белый; assorted = ассорти
Alpen Gold: [Max Fun|Oreo|Hazelnut|Fruit and Nut]
Milka: [Alpine Milk|Oreo|Bubbles|Whole Hazelnuts|Strawberry]
Ritter Sport: [Alpine Milk|Whole Hazelnuts|Marzipan|Dark Whole Hazelnuts]
Lindt: Excellence {70-99/5}% Cocoa; Lindor[| Milk| Dark]; Creation
Kinder: [Chocolate|Bueno|Country|Delice|Maxi]
Alenka/Алёнка: Classic~Классическая; With Nuts~С орехами; Mini~Мини
Babaevsky/Бабаевский: Osobiy~Особый; Elite 75%~Элитный 75%; Original~Оригинальный
Krasny Oktyabr/Красный Октябрь: Mishka Kosolapy~Мишка косолапый; Krasnaya Shapochka~Красная Шапочка; Vdokhnovenie~Вдохновение
Korkunov/Коркунов: Assorted~Ассорти; Dark~Тёмный
Rossiya/Россия: Shchedraya Dusha~Щедрая душа
Merci: [Finest Selection|Petits|Mousse]
Toblerone: [Milk|Dark|White|Tiny]
Ferrero: Rocher; Raffaello; Collection
Jubilee/Юбилейное: Traditional~Традиционное; Morning~Утреннее
Oreo: [Original|Double|Golden|Mini]
Lotus: Biscoff[| Sandwich]

%% Pasta / Макаронные изделия | g:400,450,500,1000 |
n: pasta = макароны p; spaghetti = спагетти p; noodles = лапша f; pasta shells = ракушки p
a: wholegrain = цельнозерновой; durum = из твёрдых сортов пшеницы; premium = высший сорт
Barilla: Spaghetti n.{3-7}; Penne Rigate; Fusilli; Farfalle
Makfa/Макфа: Spaghetti~Спагетти; Penne~Перья; Shells~Ракушки; Vermicelli~Вермишель
De Cecco: Spaghetti n.{10-12}; Linguine; Penne Rigate
Shebekinskie/Шебекинские: Rigatoni~Ригатони; Fusilli~Фузилли
Pasta Zara: [Spaghetti|Tagliatelle|Penne]
Granmulino: [Fusilli|Farfalle|Penne]

%% Cereals / Крупы | g:400,800,900,1000 pcs:5,8 |
n: rice = рис m; buckwheat = гречка f; oatmeal = овсяные хлопья p; bulgur = булгур m; millet = пшено n
a: long-grain = длиннозёрный; steamed = пропаренный; round-grain = круглозёрный; boil-in-bag = в варочных пакетиках
Mistral/Мистраль: Jasmine~Жасмин; Basmati~Басмати; Kuban~Кубань; Arborio~Арборио
Uvelka/Увелка: Extra~Экстра; Steamed~Пропаренный; Kernel~Ядрица
Natsional/Националь: Basmati~Басмати; Jasmine~Жасмин; Premium~Премиум
Yasno Solnyshko/Ясно Солнышко: No. {1-3}~№ {1-3}
Nordic: [Oat Flakes|Porridge|Muesli]
Agro-Alliance/Агро-Альянс: Extra~Экстра; Golden~Золотистый

%% Oil / Растительное масло | ml:250,500,750,1000 |
n: olive oil = оливковое масло n; sunflower oil = подсолнечное масло n; oil = масло n
a: refined = рафинированный; unrefined = нерафинированный; cold-pressed = холодного отжима
Monini: [Classico|Delicato|Bios|Extra Virgin]
Borges: [Extra Virgin|Extra Light|Pomace]
Filippo Berio: [Extra Virgin|Classico|Organic]
Oleina/Олейна: Classic~Классическое; Traditional~Традиционное
Zolotaya Semechka/Золотая Семечка: Refined~Рафинированное
Iberica: [Pure|Extra Virgin]

%% Sauces and honey / Соусы и мёд | g:250,350,400,500 |
n: honey = мёд m; ketchup = кетчуп m; mayonnaise = майонез m; sauce = соус m
a: natural = натуральный; spicy = острый; creamed = кремовый; light = лёгкий
Heinz: [Tomato Ketchup|Mayonnaise|Barbecue|Hot Chili]
Sloboda/Слобода: Provencal~Провансаль; Olive~Оливковый
Baltimor/Балтимор: Kebab~Шашлычный; Tomato~Томатный
Medovy Dom/Медовый Дом: Linden~Липовый; Buckwheat~Гречишный; Flower~Цветочный
Pasika Lesnaya/Пасека Лесная: Acacia~Акациевый; May~Майский
Kikkoman: [Soy Sauce|Teriyaki|Less Salt]

%% Juice / Соки | L:0.2,0.33,0.95,1,2 |
n: juice = сок m; nectar = нектар m; juice drink = сокосодержащий напиток m
a: natural = натуральный; clarified = осветлённый; with pulp = с мякотью
Dobry/Добрый: Apple~Яблоко; Orange~Апельсин; Multifruit~Мультифрукт; Cherry~Вишня
Rich: [Pineapple|Cherry|Orange|Tomato|Grapefruit]
J7: [Orange|Apple|Multifruit|Peach]
Lyubimy/Любимый: Apple Cherry~Яблоко Вишня; Orange Peach~Апельсин Персик
Sady Pridonya/Сады Придонья: Apple~Яблочный; Grape~Виноградный
Fruktovy Sad/Фруктовый Сад: Apple~Яблоко; Peach~Персик

%% Water and soft drinks / Вода и лимонады | L:0.33,0.5,1,1.5,2,5 |
n: mineral water = минеральная вода f; drinking water = питьевая вода f; lemonade = лимонад m; water = вода f
a: sparkling = газированный; still = негазированный; natural = натуральный
Svyatoy Istochnik/Святой Источник: Classic~Классическая; Sport~Спорт
Aqua Minerale: [Still|Sparkling|Lemon]
BonAqua: [Still|Sparkling|Lightly Sparkling]
Evian: Natural Mineral Water
Borjomi: Classic; Flavored Lemon
Narzan/Нарзан: Classic~Классический
Essentuki/Ессентуки: No. {4-17/13}~№ {4-17/13}
Chernogolovka/Черноголовка: Tarragon~Тархун; Baikal~Байкал; Buratino~Буратино; Duchesse~Дюшес

%% Shoes / Обувь | eu:36,37,38,39,40,41,42,43,44,45 | colours
n: sneakers = кроссовки p; running shoes = беговые кроссовки p; boots = ботинки p; slides = шлёпанцы p
a: men's = мужской; women's = женский; kids' = детский; leather = кожаный; waterproof = водонепроницаемый
Nike: Air Max {90-270/10}; Air Force 1 [Low|Mid|'07]; Pegasus {38-41}; Dunk [Low|High]
Adidas: Ultraboost [Light|22|23]; Superstar; Stan Smith; Samba OG; Gazelle; Forum Low
Puma: [Suede Classic|RS-X|Cali|Smash v2|Caven]
New Balance: {327-990/9}[v5|v6]; 574; 530
Reebok: Classic Leather; Club C 85; Nano X{3-4}
ASICS: Gel-Kayano {28-31}; Gel-Nimbus {24-26}; Gel-Venture {8-9}
Converse: Chuck Taylor All Star; Chuck 70; Run Star Hike
Vans: [Old Skool|Sk8-Hi|Authentic|Slip-On|Knu Skool]
Skechers: [Go Walk {6-7}|D'Lites|Arch Fit|Uno]
Timberland: [6-Inch Premium|Euro Sprint|Field Boot]
Demix: [Rapid|Sprint|Atmos|Flash]

%% Clothing / Одежда | size:S,M,L,XL,XXL | colours
n: t-shirt = футболка f; jacket = куртка f; jeans = джинсы p; hoodie = худи n; down jacket = пуховик m; backpack = рюкзак m; cap = кепка f; sweater = свитер m
a: men's = мужской; women's = женский; kids' = детский; warm = тёплый; cotton = хлопковый; waterproof = водонепроницаемый; oversized = оверсайз
Levi's: {501-511/10}[ Original| Slim]; Trucker Jacket; Housemark
Uniqlo: [AIRism|Ultra Light Down|HEATTECH|U Crew Neck|Dry-EX]
The North Face: [Nuptse|1996 Retro Nuptse|Borealis|Jester|Denali]
Columbia: [Powder Lite|Oak Harbor|Watertight II|Steens Mountain]
Fjällräven: Kånken[| Mini| Laptop 15]; Greenland; Keb
Herschel: [Little America|Heritage|Classic XL|Settlement]
Gloria Jeans/Глория Джинс: Basic~Базовая; Denim~Деним
Befree: [Basic|Oversize|Cropped]
O'stin: [Casual|Denim|Basic]
Kappa: [Authentic|Logo Tape|Banda]
Outventure: [Trek|Cross|Urban]
Nike: Sportswear [Club|Tech Fleece|Essential]; Dri-FIT [Legend|Academy]

%% Cookware / Посуда | cm:20,22,24,26,28 L:1.5,2,3,4 |
n: frying pan = сковорода f; saucepan = кастрюля f; knife = нож m; mug = кружка f; kitchen knife set = набор кухонных ножей m
a: non-stick = антипригарный; ceramic = керамический; cast-iron = чугунный; stainless = нержавеющий
Tefal: [Unlimited|Ingenio Emotion|Ingenio Preference|Day by Day|Excellence|Hard Titanium]
Rondell: [Mocco|Loft|Flamme|Balance|Zeita]
Vari: [Pietra|Titan|Litta|Grey]
Neva Metal/Нева Металл: Granite~Гранит; Titanium~Титан; Premium~Премиум
Kukmara/Кукмара: Marble~Мраморная; Classic~Классика
Scovo: [Stone Pan|Expert|Ceramic]
Fissman: [Rebusto|Promo|Grey Stone|Ultra]
IKEA: [FÄRGKLAR|VARDAGEN|HEMKOMST|SENSUELL|KAVALKAD|IKEA 365+]
Zwilling: [Pro|Four Star|Twin Point]
Berghoff: [Essentials|Leo|Ron]

%% Home textile / Домашний текстиль | cm:50,70,140,200 |
n: pillow = подушка f; blanket = одеяло n; towel = полотенце n; bed linen set = комплект постельного белья m; mattress = матрас m
a: soft = мягкий; orthopedic = ортопедический; cotton = хлопковый; warm = тёплый
Askona/Аскона: Classic~Классик; Cloud~Клауд; Spring~Спринг
Togas: [Alaska|Prestige|Cosmos|Grace]
Sleep Professor: [Comfort|Air|Cool]
IKEA: [FJÄDERMYGGA|SMÅSPORRE|ROSENSKÄRM|VÅRVIAL|DVALA|GÄSPA]
Cleanelly: [Basic|Perfetto|Vita]
Ormatek/Орматек: Comfort~Комфорт; Flex~Флекс

%% Lighting / Освещение | W:5,7,9,12,15 | colours
n: table lamp = настольная лампа f; light bulb = лампочка f; LED strip = светодиодная лента f; floor lamp = торшер m
a: LED = светодиодный; smart = умный; dimmable = диммируемый
Xiaomi: Mi LED Desk Lamp [1S|Pro]; Mijia Smart Bulb
Yeelight: LED Bulb W{3-4}; Light Strip Pro; Staria Bedside Lamp
Gauss: Elementary A{60-60}; Filament G{45-95/50}
Philips Hue: White and Color Ambiance; Go; Bloom
IKEA: [TERTIAL|RANARP|FADO|TRÅDFRI|HEKTAR]
Navigator: NLL-A{60-60}; NLED-{400-450/10}

%% Cosmetics / Косметика | ml:50,100,200,250,400,500 |
n: shampoo = шампунь m; conditioner = бальзам для волос m; shower gel = гель для душа m; face cream = крем для лица m; hand cream = крем для рук m; toothpaste = зубная паста f; perfume = духи p; eau de toilette = туалетная вода f; deodorant = дезодорант m
a: moisturizing = увлажняющий; men's = мужской; women's = женский; nourishing = питательный; whitening = отбеливающий
L'Oréal Paris: Elseve [Full Resist|Color Vive|Total Repair 5]; Revitalift [Laser X3|Filler]
Head & Shoulders: [Classic Clean|Menthol|2in1|Anti-Hairfall]
Pantene: Pro-V [Aqua Light|Intensive Repair|Sheer Volume]
Garnier: Fructis [Grow Strong|SOS Repair|Superfood]; Skin Naturals
Nivea: Men [Sensitive|Cool Kick]; Soft; Creme
Dove: [Intensive Repair|Deeply Nourishing|Go Fresh]
Chistaya Liniya/Чистая Линия: Phytobalm~Фитобальзам; Herbal~На травах
Natura Siberica: [Sea Buckthorn|Northern Cloudberry|Taiga]
Colgate: Total 12[| Pro-Health| Whitening]; Max Fresh; Optic White
Splat: Professional [Biocalcium|Ultracomplex|White Plus]
Lesnoy Balzam/Лесной Бальзам: Oak Bark~Кора дуба; Herbal~Травяной
Palmolive: [Naturals|Aroma Moments|Men]
Old Spice: [Whitewater|Wolfthorn|Captain|Bearglove]
La Roche-Posay: Effaclar [Duo+|H]; Lipikar [Baume AP+M|Syndet AP+]; Cicaplast Baume B5
CeraVe: [Moisturising Cream|Foaming Cleanser|Hydrating Cleanser]
Vichy: Minéral 89; Liftactiv [Supreme|Collagen]
Chanel: [Chance|Coco Mademoiselle|Bleu de Chanel|No 5]
Dior: [Sauvage|J'adore|Miss Dior|Homme]
Hugo Boss: [Bottled|The Scent|Alive]

%% Toys / Игрушки | pcs:1,4,12,52,64,82,300 |
n: construction set = конструктор m; doll = кукла f; toy car = машинка f; board game = настольная игра f
a: kids' = детский; educational = развивающий; radio-controlled = радиоуправляемый
LEGO: City {60300-60420/3}; Technic {42100-42170/3}; Star Wars {75300-75380/3}; Friends {41700-41760/3}; Creator 3-in-1 {31100-31150}; Ninjago {71770-71810}
Barbie: [Dreamhouse|Fashionistas|Extra|Color Reveal]
Hot Wheels: [Monster Trucks|Track Builder|City|Mega Garage]
Hasbro: [Monopoly|Jenga|Twister|Cluedo]
Mattel: [UNO|Polly Pocket|Fisher-Price]
Cobi: [Historical Collection|Tanks|Action Town]

%% Baby goods / Товары для малышей | pcs:24,42,52,66,82 | colours
n: diapers = подгузники p; pull-ups = трусики-подгузники p; stroller = коляска f; car seat = автокресло n
a: disposable = одноразовый; kids' = детский; folding = складной
Pampers: [Premium Care|Active Baby|Pants|Premium Care Pants] {1-6}
Huggies: [Elite Soft|Classic|Ultra Comfort] {1-6}
Merries: [Diapers|Pants] [S|M|L|XL]
Cybex: [Balios S Lux|Priam|Gazelle S|Eezy S Twist+ 2|Sirona Z]
Joie: [Versatrax|Litetrax 4|Mytrax|Aeria|i-Spin 360]
Chicco: [Bravo|Goody Plus|Trolley Me]

%% Bicycles and scooters / Велосипеды и самокаты | | colours
n: bicycle = велосипед m; mountain bike = горный велосипед m; electric scooter = электросамокат m; kick scooter = самокат m
a: folding = складной; adult = взрослый; kids' = детский; city = городской
Stern: Motion [1.0|2.0]; Energy [1.0|2.0]; Dynamic
Forward: Apache [27.5|29]; Sporting [27.5|29]; Jade
Merida: Big.Nine {20-700/20}; Big.Seven {10-300/20}; Scultura {400-400}
Trek: Marlin {4-8}; FX {1-3}; Domane AL {2-5}
Giant: Talon {1-4}; Escape {1-3}; ATX
Stels: Navigator {300-900/20}[ MD| Lady]
Ninebot: Max G{30-65/5}[|P|E]; KickScooter F{20-65/5}; E{22-45}
Kugoo: Kirin M{4-5}[| Pro]; S{1-3}[| Pro]

%% Fitness / Фитнес | kg:1,2,5,10 | colours
n: yoga mat = коврик для йоги m; dumbbell = гантель f; ball = мяч m; treadmill = беговая дорожка f; tent = палатка f
a: non-slip = нескользящий; adult = взрослый; foam = пенный; folding = складной
Starfit: FM-{101-301/100}; DB-{701-716}
Molten: BG{3800-5000/200}; F5V{1000-5000/1000}
Mikasa: V{200-330/10}W
Torneo: [Smart|Linea|Nota|Vita]
Quechua: MH{100-500/100}; 2 Seconds Easy
Domyos: [Essential|Comfort|T520]
Demix: [Basic|Pro|Flex]

%% Pet supplies / Товары для животных | kg:0.4,1.5,2,4,10,15 |
n: dry cat food = сухой корм для кошек m; dog food = корм для собак m; cat litter = наполнитель для кошачьего туалета m; cat food = корм для кошек m
a: grain-free = беззерновой; premium = премиальный; clumping = комкующийся
Royal Canin: [Indoor 27|Sterilised 37|Persian|Mini Adult|Maxi Adult|Medium Puppy]
Purina Pro Plan: [Sterilised|Delicate|Adult Chicken|Optirenal]
Whiskas: Chicken~с курицей; Beef~с говядиной; Salmon~с лососем
Felix: Double Delicious~Двойная вкуснятина; Sensations~Сенсейшнс
Pedigree: [Adult|Puppy|Mini|Dentastix]
Brit: [Premium by Nature|Care|Fresh]
Acana: [Pacifica|Wild Prairie|Grasslands]
Grandorf: [Lamb and Rice|White Fish|Turkey]
Hill's: Science Plan [Adult|Kitten|Sterilised Cat]
Kitekat: Meat Feast~Мясной пир; Fish~Улов рыбака
Chappi: Meat Abundance~Мясное изобилие
Pi-Pi-Bent/Пи-Пи-Бент: Classic~Классик; Sensation~Сенсация
"""

COLOURS = """black = чёрный; white = белый; silver = серебристый; grey = серый; blue = синий;
light blue = голубой; red = красный; green = зелёный; yellow = жёлтый; pink = розовый;
beige = бежевый; gold = золотой; purple = фиолетовый; orange = оранжевый; brown = коричневый;
graphite = графитовый; mint = мятный; dark blue = тёмно-синий"""

# unit code -> (English spellings, Russian spellings)
UNITS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "GB": (("GB",), ("ГБ", "Гб")),
    "mAh": (("mAh",), ("мАч",)),
    "W": (("W",), ("Вт",)),
    "L": (("L", "l"), ("л",)),
    "kg": (("kg",), ("кг",)),
    "g": (("g",), ("г",)),
    "ml": (("ml",), ("мл",)),
    "cm": (("cm",), ("см",)),
    "pcs": (("pcs",), ("шт",)),
}

Template = tuple[tuple[str, ...], ...]  # parts, each a choice of strings


@dataclass(frozen=True, slots=True)
class Noun:
    en: str
    ru: str
    gender: str  # m, f, n or p (plural): for the Russian adjective endings


@dataclass(frozen=True, slots=True)
class Adjective:
    en: str
    ru: str  # masculine


@dataclass(frozen=True, slots=True)
class Series:
    en: Template
    ru: Template | None  # a Russian spelling of the same shape, or None if it reads the same

    def expand(self, rng: random.Random) -> tuple[str, str]:
        """Return one model name the series makes, in English and in Russian."""
        picks = [rng.randrange(len(part)) if len(part) > 1 else 0 for part in self.en]
        english = "".join(part[pick] for part, pick in zip(self.en, picks, strict=True))
        if self.ru is None:
            return english, english
        return english, "".join(part[pick] for part, pick in zip(self.ru, picks, strict=True))


@dataclass(frozen=True, slots=True)
class Brand:
    en: str
    ru: str
    series: tuple[Series, ...]


@dataclass(frozen=True, slots=True)
class Size:
    unit: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """One category of the generated catalog with its words and brands."""

    categories_en: tuple[str, ...]
    categories_both: tuple[str, ...]
    nouns: tuple[Noun, ...]
    adjectives: tuple[Adjective, ...]
    brands: tuple[Brand, ...]
    sizes: tuple[Size, ...]
    colours: bool


_TEMPLATE_PART = re.compile(r"\{(\d+)-(\d+)(?:/(\d+))?\}|\[([^\]]*)\]|[^{\[]+")


def parse_template(text: str) -> Template:
    """Parse "Galaxy S{21-25}[| Ultra]" into its parts, each a tuple of choices."""
    parts: list[tuple[str, ...]] = []
    for match in _TEMPLATE_PART.finditer(text):
        low, high, step, options = match.groups()
        if low is not None:
            width = len(low) if low.startswith("0") else 0
            numbers = range(int(low), int(high) + 1, int(step or 1))
            parts.append(tuple(str(n).zfill(width) for n in numbers))
        elif options is not None:
            choices = (every_string(parse_template(option)) for option in options.split("|"))
            parts.append(tuple(dict.fromkeys(itertools.chain.from_iterable(choices))))
        else:
            parts.append((match.group(0),))
    return tuple(parts)


def every_string(template: Template) -> list[str]:
    """Return every string a template can make (for small templates)."""
    return ["".join(combo) for combo in itertools.product(*template)]


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in text.split(";"):
        en, _, ru = item.partition("=")
        if en.strip():
            pairs.append((en.strip(), ru.strip()))
    return pairs


def _brand(line: str) -> Brand:
    names, _, series_text = line.partition(":")
    en, _, ru = names.partition("/")
    series = []
    for item in series_text.split(";"):
        en_series, tilde, ru_series = item.strip().partition("~")
        template, russian = parse_template(en_series), parse_template(ru_series)
        if tilde and [len(part) for part in template] != [len(part) for part in russian]:
            raise ValueError(f"{en_series!r} and {ru_series!r} differ in their choices")
        series.append(Series(template, russian if tilde else None))
    return Brand(en.strip(), ru.strip() or en.strip(), tuple(series))


def parse_catalog(text: str) -> list[Group]:
    """Read the catalog description above into groups."""
    groups = []
    for block in text.split("%%")[1:]:
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        names, sizes_text, colours = (field.strip() for field in lines[0].split("|"))
        category_en, _, category_ru = (name.strip() for name in names.partition("/"))
        nouns: list[Noun] = []
        adjectives: list[Adjective] = []
        brands: list[Brand] = []
        for line in lines[1:]:
            if line.startswith("n:"):
                for en, ru in _pairs(line[2:]):
                    ru_noun, _, gender = ru.rpartition(" ")
                    nouns.append(Noun(en, ru_noun, gender))
            elif line.startswith("a:"):
                adjectives.extend(Adjective(en, ru) for en, ru in _pairs(line[2:]))
            else:
                brands.append(_brand(line))
        sizes = tuple(
            Size(unit, tuple(values.split(",")))
            for unit, _, values in (spec.partition(":") for spec in sizes_text.split())
        )
        groups.append(
            Group(
                (category_en,),
                (category_en, category_ru),
                tuple(nouns),
                tuple(adjectives),
                tuple(brands),
                sizes,
                colours == "colours",
            )
        )
    return groups


GROUPS = parse_catalog(CATALOG)
COLOUR_LIST = tuple(Adjective(en, ru) for en, ru in _pairs(COLOURS.replace("\n", " ")))


def agree(adjective: str, gender: str) -> str:
    """Put a Russian adjective given in the masculine into the noun's gender (m, f, n, p)."""
    if gender == "m" or " " in adjective or not adjective.endswith(("ый", "ий", "ой")):
        return adjective
    if "-" in adjective:  # тёмно-синий: only the last part agrees
        head, _, tail = adjective.rpartition("-")
        return f"{head}-{agree(tail, gender)}"
    stem, ending = adjective[:-2], adjective[-2:]
    last = stem[-1]
    if ending == "ий" and last not in "кгхжшчщ":  # синий
        return stem + {"f": "яя", "n": "ее", "p": "ие"}[gender]
    neuter = "ее" if ending == "ий" and last in "жшчщ" else "ое"
    plural = "ие" if last in "кгхжшчщ" else "ые"
    return stem + {"f": "ая", "n": neuter, "p": plural}[gender]


def render_size(size: Size, value: str, russian: bool, rng: random.Random) -> str:
    """Write a size the way shops do: "256GB", "1,7 л", "размер M", '55"'."""
    if size.unit == "size":
        return f"{'размер' if russian else 'size'} {value}"
    if size.unit == "eu":
        return f"{rng.choice(('р.', 'размер')) if russian else 'EU'} {value}"
    if size.unit == "inch":
        return f'{value}"' if rng.random() < 0.6 else f"{value} {'дюймов' if russian else 'inch'}"
    unit, amount = size.unit, value
    if unit == "GB" and value.isdigit() and int(value) >= 1000:
        unit, amount = "TB", str(int(value) // 1000)
    if unit == "g" and int(value) >= 1000:
        unit, amount = "kg", str(int(value) // 1000)
    if unit == "TB":
        spelled = "ТБ" if russian else "TB"
    else:
        spelled = rng.choice(UNITS[unit][1] if russian else UNITS[unit][0])
    if russian:
        amount = amount.replace(".", ",")
    glued = rng.random() < (0.2 if russian else 0.5)
    return f"{amount}{spelled}" if glued else f"{amount} {spelled}"


@dataclass(slots=True)
class ProductParts:
    """What one generated product is made of, before it is written in a language."""

    group: Group
    brand: Brand
    model_en: str
    model_ru: str
    noun: Noun
    adjective: Adjective | None
    colour: Adjective | None
    size: tuple[Size, str] | None
    form: int


def english_title(parts: ProductParts, rng: random.Random) -> str:
    """Write the product's English title."""
    noun, adjective = parts.noun.en, parts.adjective.en if parts.adjective else ""
    size = render_size(*parts.size, russian=False, rng=rng) if parts.size else ""
    brand, model = parts.brand.en, parts.model_en
    words: tuple[str, ...]
    if parts.form == 0:
        words = (brand, model, size, adjective, noun)
    elif parts.form == 1:
        words = (brand, model, adjective, noun, size)
    else:
        words = (adjective, noun, brand, model, size)
    title = " ".join(word for word in words if word)
    if parts.colour:
        title += rng.choice((", ", " ", " - ")) + parts.colour.en
    return title[0].upper() + title[1:]


def russian_title(parts: ProductParts, rng: random.Random) -> str:
    """Write the product's Russian title (the adjectives agree with the noun)."""
    gender = parts.noun.gender
    noun = parts.noun.ru
    adjective = agree(parts.adjective.ru, gender) if parts.adjective else ""
    size = render_size(*parts.size, russian=True, rng=rng) if parts.size else ""
    brand, model = parts.brand.ru, parts.model_ru
    words: tuple[str, ...]
    if parts.form == 0:
        words = (noun, brand, model, size)
    elif parts.form == 1:
        words = (noun, brand, model, adjective, size)
    elif " " in adjective:  # "с подсветкой" follows the noun
        words = (noun, adjective, brand, model, size)
    else:
        words = (adjective, noun, brand, model, size)
    title = " ".join(word for word in words if word)
    if parts.colour:
        title += ", " + agree(parts.colour.ru, gender)
    return title[0].upper() + title[1:]


# The long tail: a big catalog has thousands of small brands (pseudo-words here, a third
# of them Russian), each with its own product line, as a marketplace has. They give a
# catalog of a million products a vocabulary of a realistic size for typo search.
TAIL_SHARE = 0.25
_LATIN_SOUNDS = (
    ("b", "br", "c", "d", "dr", "f", "g", "gr", "k", "kr", "l", "m", "n", "p", "pr", "r", "s",
     "st", "t", "tr", "v", "z"),
    ("a", "e", "i", "o", "u", "ai", "ea"),
    ("", "", "", "n", "r", "s", "x", "l", "m"),
)  # fmt: skip
_CYRILLIC_SOUNDS = (
    ("б", "бр", "в", "г", "гр", "д", "к", "кр", "л", "м", "н", "п", "пр", "р", "с", "ст", "т",
     "тр", "ф", "з", "ж", "ш", "ч"),
    ("а", "е", "и", "о", "у", "я", "ю", "ё"),
    ("", "", "", "н", "р", "с", "л", "м", "й", "к"),
)  # fmt: skip
# How a Russian small brand spells itself in Latin letters on its English labels.
_LATIN_SPELLING = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
})  # fmt: skip
_TAIL_NUMBERS = tuple(str(n) for n in range(100, 1000, 10))


def pseudo_word(rng: random.Random, *, cyrillic: bool) -> str:
    """Make a brand-like word of 2-3 syllables ("Kraimor", "Стелюн")."""
    onsets, vowels, codas = _CYRILLIC_SOUNDS if cyrillic else _LATIN_SOUNDS
    syllables = rng.choice((2, 2, 3))
    word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables))
    return (word + rng.choice(codas)).capitalize()


def tail_brands(count: int, rng: random.Random) -> list[Brand]:
    """Make `count` small brands, each with one product line ("Velora Tamix 350")."""
    brands: list[Brand] = []
    names: set[str] = set()
    while len(brands) < count:
        cyrillic = rng.random() < 0.3
        name, line = pseudo_word(rng, cyrillic=cyrillic), pseudo_word(rng, cyrillic=cyrillic)
        if name in names:
            continue
        names.add(name)
        latin_name, latin_line = (
            word.lower().translate(_LATIN_SPELLING).capitalize() for word in (name, line)
        )
        series = Series(
            ((latin_line,), (" ",), _TAIL_NUMBERS),
            ((line,), (" ",), _TAIL_NUMBERS) if cyrillic else None,
        )
        brands.append(Brand(latin_name, name, (series,)))
    return brands


def product_parts(rng: random.Random, tail: Sequence[Brand]) -> ProductParts:
    """Pick what a random product is made of."""
    group = rng.choice(GROUPS)
    brand = rng.choice(tail) if tail and rng.random() < TAIL_SHARE else rng.choice(group.brands)
    model_en, model_ru = rng.choice(brand.series).expand(rng)
    size = None
    if group.sizes and rng.random() < 0.8:
        spec = rng.choice(group.sizes)
        size = (spec, rng.choice(spec.values))
    return ProductParts(
        group=group,
        brand=brand,
        model_en=model_en,
        model_ru=model_ru,
        noun=rng.choice(group.nouns),
        adjective=rng.choice(group.adjectives) if rng.random() < 0.45 else None,
        colour=rng.choice(COLOUR_LIST) if group.colours and rng.random() < 0.7 else None,
        size=size,
        form=rng.randrange(3),
    )


_NO_TITLES: dict[str, str] = {}  # shared by the products without translations (never mutated)


def generate_catalog(size: int, seed: int) -> list[SearchDoc]:
    """Make `size` products, the same for the same seed: half English, half Russian titles."""
    rng = random.Random(seed)
    tail = tail_brands(max(50, size // 20), random.Random(seed + 1))
    # Prices from their own generator: the titles stay those of earlier runs with the seed.
    prices = random.Random(seed + 2)
    docs = []
    for number in range(1, size + 1):
        parts = product_parts(rng, tail)
        if rng.random() < 0.5:
            title = english_title(parts, rng)
            titles = {"ru": russian_title(parts, rng)} if rng.random() < 0.3 else _NO_TITLES
        else:
            title = russian_title(parts, rng)
            titles = {"en": english_title(parts, rng)} if rng.random() < 0.15 else _NO_TITLES
        group = parts.group
        docs.append(
            SearchDoc(
                product_id=number,
                sku=f"CS{number:07d}",
                title=title,
                titles=titles,
                categories=group.categories_both if rng.random() < 0.6 else group.categories_en,
                in_stock=rng.random() >= 0.05,
                sold=int(5_000 * rng.random() ** 4),
                price=round(math.exp(prices.uniform(math.log(100), math.log(500_000)))),
            )
        )
    return docs
